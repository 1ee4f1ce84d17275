"""Change mode, owner or times; only the fields the request sets."""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext, now_ns
from .stat import lookup


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.SetAttrRequest
) -> meta_pb2.SetAttrResponse:
    inode = schema.get_inode(tr, lookup(tr, request.ref, follow=not request.no_follow).id)
    if inode is None:
        raise error(Code.NOT_FOUND, "the inode was removed", request.ref.path or None)
    if request.HasField("mode"):
        inode.mode = request.mode & 0o7777
    for name in ("uid", "gid", "atime_ns", "mtime_ns"):
        if request.HasField(name):
            setattr(inode, name, getattr(request, name))
    inode.ctime_ns = now_ns()
    schema.put_inode(tr, inode)
    return meta_pb2.SetAttrResponse(inode=inode)
