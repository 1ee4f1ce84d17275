"""Remove an empty directory.

Reading the first entry of the directory puts its whole entry range in
this transaction's read set, so a create racing into it conflicts and one
of the two retries: never a removed directory with a child.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext
from ..resolve import DIRECTORY, resolve
from .common import add_nlink


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.RmdirRequest
) -> meta_pb2.RmdirResponse:
    found = resolve(tr, request.path, follow=False)
    entry = found.require()
    if found.is_root:
        raise error(Code.BUSY, "the root directory cannot be removed", request.path)
    if entry.type != DIRECTORY:
        raise error(Code.NOT_DIR, "not a directory", request.path)
    remove_empty_dir(tr, found.parent_id, found.name, entry.inode_id, request.path)
    return meta_pb2.RmdirResponse()


def remove_empty_dir(tr: Transaction, parent: int, name: str, dir_id: int, path: str) -> None:
    if tr.get_prefix(schema.dentry_prefix(dir_id), limit=1):
        raise error(Code.NOT_EMPTY, "directory not empty", path)
    tr.clear(schema.dentry_key(parent, name))
    tr.clear(schema.inode_key(dir_id))
    add_nlink(tr, parent, -1)
