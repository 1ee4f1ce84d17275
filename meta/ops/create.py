"""Create a file (exclusive or not); also used by open-with-create.

Creating an entry does not touch the parent directory's inode (no mtime
update), so concurrent creates in one directory never conflict with each
other: they share only the read of the path's ancestors.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.layout import new_layout
from flyfs.proto import meta_pb2

from .. import paths, schema
from ..context import MetaContext
from ..resolve import DIRECTORY, Resolved
from .common import FILE, new_inode, resolve_for_create


def new_file(
    ctx: MetaContext, mode: int, parent: int, chunk_size: int, stripe: int
) -> meta_pb2.Inode:
    inode = new_inode(ctx, FILE, mode, parent)
    inode.layout.CopyFrom(
        new_layout(
            ctx.chains.current(),
            chunk_size=chunk_size or ctx.config.chunk_size,
            stripe=stripe or ctx.config.stripe,
            rng=ctx.rng,
        )
    )
    return inode


def existing_file(tr: Transaction, found: Resolved) -> meta_pb2.Inode:
    entry = found.require()
    if entry.type == DIRECTORY:
        raise error(Code.IS_DIR, "is a directory", found.path)
    inode = schema.get_inode(tr, entry.inode_id)
    if inode is None:
        raise error(Code.NOT_FOUND, "entry names a missing inode", found.path)
    return inode


def create_entry(
    ctx: MetaContext, tr: Transaction, found: Resolved, mode: int, chunk_size: int, stripe: int
) -> meta_pb2.Inode:
    inode = new_file(ctx, mode, found.parent_id, chunk_size, stripe)
    schema.put_inode(tr, inode)
    schema.put_dentry(tr, found.parent_id, found.name, inode)
    return inode


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.CreateRequest
) -> meta_pb2.CreateResponse:
    names = paths.split(request.path)
    found = resolve_for_create(ctx, tr, names, request.path, parents=request.parents)
    if found.entry is not None:
        if request.exclusive:
            raise error(Code.EXISTS, "already exists", request.path)
        return meta_pb2.CreateResponse(inode=existing_file(tr, found), created=False)
    inode = create_entry(ctx, tr, found, request.mode, request.chunk_size, request.stripe)
    return meta_pb2.CreateResponse(inode=inode, created=True)
