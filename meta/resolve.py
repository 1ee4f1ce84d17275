"""Path → directory entry, inside a transaction.

Intermediate directories are found through their entries alone (a DirEntry
carries its type), so resolving `/a/b/c` is three point reads and a mutation
in `c`'s directory conflicts only with changes to those entries.  Symlinks
in the middle of a path are always followed, a final one only when asked;
more than 40 hops is SYMLINK_LOOP, as on Linux.
"""

from __future__ import annotations

from dataclasses import dataclass

from flyfs.errors import Code, error
from flyfs.kv import ReadTransaction
from flyfs.proto import meta_pb2

from . import paths, schema

MAX_SYMLINK_HOPS = 40
DIRECTORY = meta_pb2.INODE_TYPE_DIRECTORY
SYMLINK = meta_pb2.INODE_TYPE_SYMLINK


@dataclass
class Resolved:
    path: str
    parent_id: int  # the directory holding the final entry
    name: str  # "" for the root
    entry: meta_pb2.DirEntry | None  # None: the final component does not exist

    @property
    def is_root(self) -> bool:
        return not self.name

    def require(self) -> meta_pb2.DirEntry:
        if self.entry is None:
            raise error(Code.NOT_FOUND, f"{self.name!r} is not in its directory", self.path)
        return self.entry


def root(path: str) -> Resolved:
    entry = meta_pb2.DirEntry(parent=schema.ROOT_ID, inode_id=schema.ROOT_ID, type=DIRECTORY)
    return Resolved(path, schema.ROOT_ID, "", entry)


def resolve(
    tr: ReadTransaction,
    path: str,
    *,
    follow: bool = True,
    snapshot: bool = False,
    dirs: dict[tuple[str, ...], int] | None = None,
) -> Resolved:
    return walk(tr, paths.split(path), path, follow=follow, snapshot=snapshot, dirs=dirs)


def walk(
    tr: ReadTransaction,
    names: list[str],
    path: str,
    *,
    follow: bool,
    snapshot: bool = False,
    dirs: dict[tuple[str, ...], int] | None = None,
) -> Resolved:
    """Resolve `names` from the root.

    `dirs` memoizes directories already resolved in this transaction (by
    their components from the root), so a batch of paths in few directories
    reads each directory's entry once: data loaders stat shards in bulk.
    """
    todo = list(names)
    walked: list[str] = []
    dir_id = schema.ROOT_ID
    hops = 0
    while todo:
        name = todo.pop(0)
        last = not todo
        if dirs is not None and not last:
            known = dirs.get((*walked, name))
            if known is not None:
                dir_id = known
                walked.append(name)
                continue
        entry = schema.get_dentry(tr, dir_id, name, snapshot=snapshot)
        if entry is None:
            if last:
                return Resolved(path, dir_id, name, None)
            raise error(Code.NOT_FOUND, f"{paths.join([*walked, name])} does not exist", path)
        if entry.type == SYMLINK and (follow or not last):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise error(Code.SYMLINK_LOOP, f"more than {MAX_SYMLINK_HOPS} symlinks", path)
            link = schema.get_inode(tr, entry.inode_id, snapshot=snapshot)
            target = link.symlink_target if link is not None else ""
            todo = _join_target(walked, target) + todo
            walked, dir_id = [], schema.ROOT_ID
            continue
        if last:
            return Resolved(path, dir_id, name, entry)
        if entry.type != DIRECTORY:
            raise error(Code.NOT_DIR, f"{paths.join([*walked, name])} is not a directory", path)
        dir_id = entry.inode_id
        walked.append(name)
        if dirs is not None:
            dirs[tuple(walked)] = dir_id
    return root(path)


def _join_target(walked: list[str], target: str) -> list[str]:
    """A symlink target as components from the root: relative ones start where the link is."""
    names = [] if target.startswith("/") else list(walked)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if names:
                names.pop()
        else:
            names.append(part)
    return names
