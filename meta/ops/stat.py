"""Stat by path or inode, one or many.

By inode, an unlinked inode (removed, chunks not yet collected) is still
returned, flagged `unlinked`: the client asks this to tell a hole from a
removed file.  Reads are snapshot reads: a stat never conflicts.
"""

from __future__ import annotations

from flyfs.errors import Code, FlyfsError, error
from flyfs.kv import ReadTransaction
from flyfs.proto import common_pb2, meta_pb2

from .. import schema
from ..resolve import resolve


def lookup(
    tr: ReadTransaction,
    ref: meta_pb2.InodeRef,
    *,
    follow: bool = True,
    dirs: dict[tuple[str, ...], int] | None = None,
) -> meta_pb2.Inode:
    which = ref.WhichOneof("ref")
    if which == "inode_id":
        inode = schema.get_inode(tr, ref.inode_id, snapshot=True)
        if inode is None:
            raise error(Code.NOT_FOUND, f"inode {ref.inode_id} does not exist")
        return inode
    if which != "path":
        raise error(Code.INVALID_ARGUMENT, "an InodeRef needs a path or an inode_id")
    entry = resolve(tr, ref.path, follow=follow, snapshot=True, dirs=dirs).require()
    inode = schema.get_inode(tr, entry.inode_id, snapshot=True)
    if inode is None:
        raise error(Code.NOT_FOUND, "entry names a missing inode", ref.path)
    return inode


def run(tr: ReadTransaction, request: meta_pb2.StatRequest) -> meta_pb2.StatResponse:
    return meta_pb2.StatResponse(inode=lookup(tr, request.ref, follow=not request.no_follow))


def run_many(
    tr: ReadTransaction, request: meta_pb2.StatManyRequest, limit: int
) -> meta_pb2.StatManyResponse:
    if len(request.refs) > limit:
        raise error(
            Code.INVALID_ARGUMENT, f"{len(request.refs)} refs in one StatMany; at most {limit}"
        )
    response = meta_pb2.StatManyResponse()
    dirs: dict[tuple[str, ...], int] = {}
    for ref in request.refs:
        result = response.results.add()
        try:
            result.inode.CopyFrom(lookup(tr, ref, follow=not request.no_follow, dirs=dirs))
        except FlyfsError as exc:
            result.status.CopyFrom(status_of(exc))
    return response


def status_of(exc: FlyfsError) -> common_pb2.Status:
    return common_pb2.Status(code=int(exc.code), message=exc.message, path=exc.filename or "")
