"""Pieces several operations share: new inodes, parents, nlink, unlinking."""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import schema
from ..context import MetaContext, now_ns
from ..resolve import DIRECTORY, Resolved, walk

FILE = meta_pb2.INODE_TYPE_FILE
SYMLINK = meta_pb2.INODE_TYPE_SYMLINK
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIR_MODE = 0o755


def new_inode(ctx: MetaContext, kind: int, mode: int, parent: int) -> meta_pb2.Inode:
    now = now_ns()
    default = DEFAULT_DIR_MODE if kind == DIRECTORY else DEFAULT_FILE_MODE
    return meta_pb2.Inode(
        id=ctx.inode_ids.next_id(),
        type=kind,
        mode=(mode or default) & 0o7777,
        atime_ns=now,
        mtime_ns=now,
        ctime_ns=now,
        nlink=2 if kind == DIRECTORY else 1,
        parent=parent,
    )


def load_inode(tr: Transaction, inode_id: int, path: str | None = None) -> meta_pb2.Inode:
    inode = schema.get_inode(tr, inode_id)
    if inode is None:
        raise error(Code.NOT_FOUND, f"inode {inode_id} does not exist", path)
    return inode


def add_nlink(tr: Transaction, dir_id: int, delta: int) -> None:
    """A directory's nlink is 2 + its subdirectories, as POSIX counts it."""
    directory = load_inode(tr, dir_id)
    directory.nlink += delta
    directory.ctime_ns = now_ns()
    schema.put_inode(tr, directory)


def make_dir(
    ctx: MetaContext, tr: Transaction, parent: int, name: str, mode: int
) -> meta_pb2.Inode:
    inode = new_inode(ctx, DIRECTORY, mode, parent)
    schema.put_inode(tr, inode)
    schema.put_dentry(tr, parent, name, inode)
    add_nlink(tr, parent, +1)
    return inode


def resolve_for_create(
    ctx: MetaContext, tr: Transaction, names: list[str], path: str, *, parents: bool
) -> Resolved:
    """Resolve `names`, first creating missing ancestors when `parents` (mkdir -p)."""
    if parents:
        for depth in range(1, len(names)):
            found = walk(tr, names[:depth], path, follow=True)
            if found.entry is None:
                make_dir(ctx, tr, found.parent_id, found.name, 0)
            elif found.entry.type != DIRECTORY:
                raise error(Code.NOT_DIR, f"/{'/'.join(names[:depth])} is not a directory", path)
    return walk(tr, names, path, follow=True)


def retire(ctx: MetaContext, tr: Transaction, inode: meta_pb2.Inode, reason: str) -> None:
    """Take an inode out of the namespace for good.

    A file stays, marked unlinked, until the collector has removed its chunks
    (not before `gc_delay_s`, so readers that opened it keep reading); a
    directory or symlink has no chunks and goes at once.
    """
    if inode.type != FILE:
        tr.clear(schema.inode_key(inode.id))
        return
    inode.unlinked = True
    inode.nlink = 0
    inode.ctime_ns = now_ns()
    schema.put_inode(tr, inode)
    schema.queue_removal(
        tr,
        meta_pb2.RemovalRecord(
            inode_id=inode.id,
            layout=inode.layout,
            length=inode.size,
            not_before_unix_ms=now_ns() // 1_000_000 + ctx.gc_delay_ms,
            reason=reason,
        ),
    )
