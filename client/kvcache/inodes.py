"""Inodes of page files and slabs remembered between calls, so a get asks meta nothing.

A page file never changes after its `wb` close, and a full slab never
grows: their inodes stay right until evicted.  A remembered inode of a
file removed since costs one ESTALE and a fresh lookup inside the read
(`FlyfsFileSystem._ranges_into`), or reads a page whose tag still proves
it; so a hot prefix's reload is one round of storage reads.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from flyfs.client.filesystem import FlyfsFileSystem
from flyfs.errors import FlyfsError
from flyfs.proto import meta_pb2

log = logging.getLogger("flyfs.kvcache")

MAX_INODES = 100_000


class InodeCache:
    def __init__(self, fs: FlyfsFileSystem, limit: int = MAX_INODES) -> None:
        self.fs = fs
        self.limit = limit
        self._known: OrderedDict[str, meta_pb2.Inode] = OrderedDict()

    def known(self, path: str) -> bool:
        return path in self._known

    def mtime_ns(self, path: str) -> int | None:
        """The remembered inode's mtime (for LRU touches), None if not remembered."""
        inode = self._known.get(path)
        return None if inode is None else inode.mtime_ns

    async def resolve(self, paths: Sequence[str]) -> dict[str, meta_pb2.Inode | FlyfsError]:
        """Every path's inode (or why not): remembered ones as they are, the rest from
        one StatMany."""
        missing = [p for p in dict.fromkeys(paths) if p not in self._known]
        found: dict[str, meta_pb2.Inode | FlyfsError] = {}
        if missing:
            found.update(await self.fs._stat_many(missing))
            for path in missing:
                inode = found[path]
                if isinstance(inode, meta_pb2.Inode):
                    self.remember(path, inode)
        for path in paths:
            if path in self._known:
                found[path] = self._known[path]
                self._known.move_to_end(path)
        return found

    async def read(
        self, paths: list[str], starts: list[int], dests: list[memoryview]
    ) -> list[int | BaseException] | None:
        """`cat_ranges_into` with the remembered inodes (each range's count, or why it
        failed); None when storage could not be read at all (the caller has misses)."""
        inodes = await self.resolve(paths)
        try:
            counts = await self.fs._cat_ranges_into(
                paths, starts, dests, on_error="return", inodes=inodes
            )
        except OSError as exc:
            log.warning("KV-cache read of %d ranges failed, all misses: %s", len(paths), exc)
            return None
        self.update(inodes)
        return counts

    def update(self, found: dict[str, meta_pb2.Inode | FlyfsError]) -> None:
        """Keep what a read ended up using (fresh inodes after an ESTALE)."""
        for path, inode in found.items():
            if isinstance(inode, meta_pb2.Inode):
                self.remember(path, inode)

    def remember(self, path: str, inode: meta_pb2.Inode) -> None:
        self._known[path] = inode
        self._known.move_to_end(path)
        while len(self._known) > self.limit:
            self._known.popitem(last=False)

    def forget(self, path: str) -> None:
        self._known.pop(path, None)
