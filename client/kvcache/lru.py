"""Recency for LRU eviction, kept where every process sees it: the files' mtimes.

A get marks what it read as used by setting its mtime (meta SetAttr), in
the background so the get does not wait, and only when the mtime it knows
(the file's, or this process's last touch) is older than `interval_s`: so
recency is exact to 10 s, a page written or touched lately costs nothing,
and a hot page one SetAttr per interval, not one per read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from flyfs.client.filesystem import FlyfsFileSystem
from flyfs.proto import meta_pb2

TOUCH_INTERVAL_S = 10.0
MAX_REMEMBERED = 100_000  # paths whose last touch this process remembers


class Toucher:
    def __init__(self, fs: FlyfsFileSystem, interval_s: float = TOUCH_INTERVAL_S) -> None:
        self.fs = fs
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._running: set[asyncio.Task[None]] = set()

    def touch(self, used: Iterable[tuple[str, int]]) -> None:
        """Mark files used now, given `(path, mtime_ns as last known)`; returns at once
        (call it on the filesystem's loop)."""
        now_ns = time.time_ns()
        limit_ns = int(self.interval_s * 1e9)
        due = [
            path
            for path, mtime_ns in dict(used).items()
            if now_ns - max(mtime_ns, self._last.get(path, 0)) >= limit_ns
        ]
        if not due:
            return
        if len(self._last) > MAX_REMEMBERED:
            self._last.clear()
        for path in due:
            self._last[path] = now_ns
        task = asyncio.ensure_future(self._touch(due))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _touch(self, paths: list[str]) -> None:
        # SetAttr, not fsspec's touch: a path evicted meanwhile must not come back empty.
        now = time.time_ns()
        requests = [
            meta_pb2.SetAttrRequest(ref=meta_pb2.InodeRef(path=p), mtime_ns=now, atime_ns=now)
            for p in paths
        ]
        await asyncio.gather(
            *(self.fs._meta("SetAttr", r) for r in requests), return_exceptions=True
        )

    async def drain(self) -> None:
        """Wait for the touches under way (tests and orderly shutdown)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
