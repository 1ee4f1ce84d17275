"""Unlink a file or symlink (a directory is IS_DIR, as on Linux).

The entry goes at once; the file's inode is marked unlinked and its chunks
are queued for removal not before `gc_delay_s`, so readers that opened it
keep reading until then.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext
from ..resolve import DIRECTORY, resolve
from .common import load_inode, retire


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.UnlinkRequest
) -> meta_pb2.UnlinkResponse:
    found = resolve(tr, request.path, follow=False)
    entry = found.require()
    if entry.type == DIRECTORY:
        raise error(Code.IS_DIR, "is a directory (use rmdir)", request.path)
    inode = load_inode(tr, entry.inode_id, request.path)
    tr.clear(schema.dentry_key(found.parent_id, found.name))
    retire(ctx, tr, inode, "unlink")
    return meta_pb2.UnlinkResponse(inode=inode)
