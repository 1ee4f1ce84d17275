"""Rename, atomically, in one transaction (POSIX rename(2) semantics).

- Replaces a file, a symlink or an empty directory at the destination; a
  non-empty directory is NOT_EMPTY; file over directory is IS_DIR,
  directory over file NOT_DIR.  `no_replace` makes any existing
  destination EXISTS (renameat2's RENAME_NOREPLACE).
- Refuses to move a directory into its own subtree (BAD_PATH, EINVAL):
  decided by walking the destination's ancestors through their `parent`
  fields, which this transaction reads, so a concurrent rename that would
  form a cycle conflicts instead.
- Renaming onto the same inode is a no-op, as POSIX says.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import paths, schema
from ..context import MetaContext, now_ns
from ..resolve import DIRECTORY, resolve
from .common import add_nlink, load_inode, resolve_for_create, retire
from .rmdir import remove_empty_dir

MAX_DEPTH = 4096


def run(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.RenameRequest
) -> meta_pb2.RenameResponse:
    src_names, dst_names = paths.split(request.src), paths.split(request.dst)
    if not src_names or not dst_names:
        raise error(Code.BUSY, "the root directory cannot be renamed or replaced", "/")
    src = resolve(tr, request.src, follow=False)
    moving = load_inode(tr, src.require().inode_id, request.src)
    dst = resolve_for_create(ctx, tr, dst_names, request.dst, parents=request.parents)
    if moving.type == DIRECTORY:
        refuse_cycle(tr, moving.id, dst.parent_id, request)
    response = meta_pb2.RenameResponse()
    if dst.entry is not None:
        if dst.entry.inode_id == moving.id:
            response.inode.CopyFrom(moving)
            return response
        if request.no_replace:
            raise error(Code.EXISTS, "destination exists", request.dst)
        replaced = load_inode(tr, dst.entry.inode_id, request.dst)
        if moving.type == DIRECTORY and replaced.type != DIRECTORY:
            raise error(
                Code.NOT_DIR, "cannot replace a non-directory with a directory", request.dst
            )
        if moving.type != DIRECTORY and replaced.type == DIRECTORY:
            raise error(Code.IS_DIR, "cannot replace a directory with a non-directory", request.dst)
        if replaced.type == DIRECTORY:
            remove_empty_dir(tr, dst.parent_id, dst.name, replaced.id, request.dst)
        else:
            retire(ctx, tr, replaced, "rename")
        response.replaced.CopyFrom(replaced)
    tr.clear(schema.dentry_key(src.parent_id, src.name))
    if moving.type == DIRECTORY and src.parent_id != dst.parent_id:
        add_nlink(tr, src.parent_id, -1)
        add_nlink(tr, dst.parent_id, +1)
    moving.parent = dst.parent_id
    moving.ctime_ns = now_ns()
    schema.put_inode(tr, moving)
    schema.put_dentry(tr, dst.parent_id, dst.name, moving)
    response.inode.CopyFrom(moving)
    return response


def refuse_cycle(
    tr: Transaction, moving_id: int, dst_parent: int, request: meta_pb2.RenameRequest
) -> None:
    current = dst_parent
    for _ in range(MAX_DEPTH):
        if current == moving_id:
            raise error(
                Code.BAD_PATH, f"cannot move {request.src} into its own subtree", request.dst
            )
        if current == schema.ROOT_ID:
            return
        current = load_inode(tr, current).parent
    raise error(Code.INTERNAL, f"directory ancestry deeper than {MAX_DEPTH}: a cycle?", request.dst)
