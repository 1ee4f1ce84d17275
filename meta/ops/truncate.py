"""Truncate a file to `length`.

Storage goes first: before this transaction runs, the service removes the
chunks past the new end and cuts the last one (`FileChunks.truncate`) on the
inode that `target` found, so extending the file afterwards, by writes or by
truncating up, reads zeros.  The transaction then checks that the path still
names that inode (`NotCut` otherwise: the service cuts the new one and runs
again).  A retry of a truncate already applied skips storage (`target`
returns None), so it cannot cut bytes written after the first answer.

Every truncate bumps the inode's `truncate_count`, which tells a later close
that its length hint may predate the cut.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import ReadTransaction, Transaction
from flyfs.layout import MAX_INDEX
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext, now_ns
from ..idempotency import applied
from .common import FILE
from .stat import lookup


class NotCut(Exception):
    """The path names another inode than the one cut on storage: cut that one, run again."""


def check(inode: meta_pb2.Inode | None, request: meta_pb2.TruncateRequest) -> meta_pb2.Inode:
    path = request.ref.path or None
    if inode is None or inode.unlinked:
        raise error(Code.STALE, "the file was removed", path)
    if inode.type != FILE:
        raise error(Code.IS_DIR, "not a regular file", path)
    if request.length > inode.layout.chunk_size * (MAX_INDEX + 1):
        raise error(Code.INVALID_ARGUMENT, f"length {request.length} is past the largest file")
    return inode


def target(tr: ReadTransaction, request: meta_pb2.TruncateRequest) -> meta_pb2.Inode | None:
    """The inode to cut on storage, or None when this request was applied already."""
    if applied(tr, request.tag):
        return None
    return check(lookup(tr, request.ref), request)


def run(
    ctx: MetaContext,
    tr: Transaction,
    request: meta_pb2.TruncateRequest,
    cut: meta_pb2.Inode | None = None,
) -> meta_pb2.TruncateResponse:
    inode = lookup(tr, request.ref)
    inode = check(schema.get_inode(tr, inode.id), request)  # read again with a conflict range
    if ctx.chunks is not None and (cut is None or cut.id != inode.id):
        raise NotCut()
    inode.size = request.length
    inode.truncate_count += 1
    inode.mtime_ns = inode.ctime_ns = now_ns()
    schema.put_inode(tr, inode)
    return meta_pb2.TruncateResponse(inode=inode)
