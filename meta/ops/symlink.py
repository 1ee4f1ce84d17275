"""Symlinks: created with any target text (POSIX does not check it), read back verbatim."""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import ReadTransaction, Transaction
from flyfs.proto import meta_pb2

from .. import paths, schema
from ..context import MetaContext
from .common import SYMLINK, new_inode, resolve_for_create
from .stat import lookup


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.SymlinkRequest
) -> meta_pb2.SymlinkResponse:
    names = paths.split(request.path)
    target = paths.encoded(request.target)
    if not target or b"\x00" in target or len(target) > paths.MAX_PATH_BYTES:
        raise error(
            Code.BAD_PATH, "a symlink target must be 1-4096 bytes without NUL", request.path
        )
    found = resolve_for_create(ctx, tr, names, request.path, parents=request.parents)
    if found.entry is not None:
        raise error(Code.EXISTS, "already exists", request.path)
    inode = new_inode(ctx, SYMLINK, 0o777, found.parent_id)
    inode.symlink_target = request.target
    inode.size = len(target)
    schema.put_inode(tr, inode)
    schema.put_dentry(tr, found.parent_id, found.name, inode)
    return meta_pb2.SymlinkResponse(inode=inode)


def readlink(tr: ReadTransaction, request: meta_pb2.ReadlinkRequest) -> meta_pb2.ReadlinkResponse:
    inode = lookup(tr, request.ref, follow=False)
    if inode.type != SYMLINK:
        raise error(Code.BAD_PATH, "not a symlink", request.ref.path or None)
    return meta_pb2.ReadlinkResponse(target=inode.symlink_target)
