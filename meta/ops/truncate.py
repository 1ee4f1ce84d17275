"""Truncate a file to `length`.

Every truncate bumps the inode's `truncate_count`, which tells a later
close that its length hint may predate the cut.  Removing the chunks past
the new end happens on storage before this transaction (issue 6), so
extending the file afterwards reads zeros.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext, now_ns
from .common import FILE
from .stat import lookup


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.TruncateRequest
) -> meta_pb2.TruncateResponse:
    inode = lookup(tr, request.ref)
    inode = schema.get_inode(tr, inode.id)  # read again with a conflict range
    if inode is None or inode.unlinked:
        raise error(Code.STALE, "the file was removed", request.ref.path or None)
    if inode.type != FILE:
        raise error(Code.IS_DIR, "not a regular file", request.ref.path or None)
    inode.size = request.length
    inode.truncate_count += 1
    inode.mtime_ns = inode.ctime_ns = now_ns()
    schema.put_inode(tr, inode)
    return meta_pb2.TruncateResponse(inode=inode)
