"""mkdir, optionally with parents (mkdir -p).

An existing directory is success when `exist_ok` or `parents` is set (as
`mkdir -p` and `os.makedirs(exist_ok=True)` behave), EXISTS otherwise; an
existing non-directory is always EXISTS.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import paths, schema
from ..context import MetaContext
from ..resolve import DIRECTORY
from .common import make_dir, resolve_for_create


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.MkdirRequest
) -> meta_pb2.MkdirResponse:
    names = paths.split(request.path)
    found = resolve_for_create(ctx, tr, names, request.path, parents=request.parents)
    if found.entry is not None:
        if found.entry.type == DIRECTORY and (request.exist_ok or request.parents):
            inode = schema.get_inode(tr, found.entry.inode_id)
            return meta_pb2.MkdirResponse(inode=inode, created=False)
        raise error(Code.EXISTS, "already exists", request.path)
    inode = make_dir(ctx, tr, found.parent_id, found.name, request.mode)
    return meta_pb2.MkdirResponse(inode=inode, created=True)
