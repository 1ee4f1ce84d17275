"""Files opened `rb`: fsspec's buffered file over ranged reads of one inode.

The file stats its path once at open (DESIGN.md: no stale cached length)
and then reads by inode, so a file replaced while open keeps reading the
version it opened (until meta collects it, `gc_delay_s`).

Readahead (cache type "readahead", the default): reads are served from one
block (the file's chunk size unless `block_size` says otherwise) while the
next blocks are already being fetched in the background (from different
chains, so from several nodes at once), so a sequential reader waits for
storage only on its first block.  The window starts at four blocks and
doubles with every block read in order, up to `readahead_bytes` (64 MiB by
default); a seek drops what is on its way and starts again at four.  Blocks
past the first four count against one budget for the whole process
(`EXTRA_AHEAD_BYTES`, 256 MiB), so many files read at once stay bounded.  Why
grow it: one 4 MiB block takes a few milliseconds end to end, so the
window is what bounds a sequential reader (measured on 3 local nodes: 1.7
GB/s with 4 blocks ahead, 2.2 with 8, 2.7 with 16, no better with 32),
while a reader that seeks should not pay for blocks it never reads.  A
read larger than a block is fetched whole, all its chunks in parallel.
Other fsspec cache types ("none", "bytes", ...) still work and fetch on
demand.

Copies: `read()` returns `bytes`: blocks are received straight into their
`bytes` (0 copies), a read of exactly the block in hand is that object, a
smaller read slices it (1 copy); `readinto()` of at least a block reads
straight into the caller's buffer (0 copies).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import threading
from typing import TYPE_CHECKING, Any

from fsspec.asyn import sync
from fsspec.caching import BaseCache
from fsspec.spec import AbstractBufferedFile

from flyfs.proto import meta_pb2

if TYPE_CHECKING:
    from .filesystem import FlyfsFileSystem


class FlyfsReadFile(AbstractBufferedFile):
    def __init__(
        self,
        fs: FlyfsFileSystem,
        path: str,
        inode: meta_pb2.Inode,
        details: dict[str, Any],
        *,
        block_size: int | None,
        cache_type: str,
        cache_options: dict[str, Any] | None,
        readahead_bytes: int,
    ) -> None:
        self.inode = inode
        self._details = details
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or inode.layout.chunk_size,
            cache_type=cache_type,
            cache_options=cache_options,
            size=inode.size,
        )
        if cache_type == "readahead":
            self.cache = Readahead(
                self.blocksize, self._fetch_range, self.size, self._prefetch, readahead_bytes
            )

    def _fetch_range(self, start: int, end: int) -> bytes:
        return sync(self.fs.loop, self.fs._read_inode, self.inode, start, end)

    def _prefetch(self, start: int, end: int) -> concurrent.futures.Future[bytes]:
        coro = self.fs._read_inode(self.inode, start, end)
        return asyncio.run_coroutine_threadsafe(coro, self.fs.loop)

    def close(self) -> None:
        if isinstance(self.cache, Readahead):
            self.cache.close()
        super().close()

    def readinto(self, b) -> int:
        """Large reads land in `b` directly (0 copies); small ones use the cache."""
        out = memoryview(b).cast("B")
        if out.nbytes < self.blocksize or self.loc >= self.size:
            return super().readinto(b)
        count = sync(self.fs.loop, self.fs._read_inode_into, self.inode, self.loc, out)
        self.loc += count
        return count


FIRST_DEPTH = 4  # blocks ahead after the open or a seek, always allowed
# Blocks further ahead than that, all open files of the process together.
EXTRA_AHEAD_BYTES = 256 << 20


class _AheadBudget:
    """Bytes read ahead beyond every file's first FIRST_DEPTH blocks, process-wide.

    Why: a reader that keeps many files open and reads each in order (the
    shards of a dataset, round robin) would otherwise hold `readahead_bytes`
    per file, and these are `bytes` in this process, not page cache the
    kernel can take back.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> bool:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's reads are not ours
                self._pid, self.used = os.getpid(), 0
            if self.used + nbytes > self.limit:
                return False
            self.used += nbytes
            return True

    def give(self, nbytes: int) -> None:
        if not nbytes:
            return
        with self._lock:
            self.used = max(0, self.used - nbytes)


_extra_ahead = _AheadBudget(EXTRA_AHEAD_BYTES)


class Readahead(BaseCache):
    """One block in hand, the next ones (a window growing to `ahead_bytes`) on their way."""

    name = "flyfs-readahead"

    def __init__(self, blocksize: int, fetcher, size: int, prefetch, ahead_bytes: int) -> None:
        super().__init__(blocksize, fetcher, size)
        self._prefetch = prefetch
        self._max_depth = max(1, ahead_bytes // blocksize)
        self._depth = min(FIRST_DEPTH, self._max_depth)
        self._block, self._block_start = b"", 0
        # (start, arriving bytes, bytes charged to the process's budget: 0 for the free ones)
        self._ahead: collections.deque[tuple[int, concurrent.futures.Future[bytes], int]] = (
            collections.deque()
        )

    def _fetch(self, start: int | None, stop: int | None) -> bytes:
        start = start or 0
        stop = self.size if stop is None else min(stop, self.size)
        if start >= stop:
            return b""
        if stop - start > self.blocksize:  # a big read: all of it at once, in parallel
            self.miss_count += 1
            self.total_requested_bytes += stop - start
            self._drop_ahead()
            data = self.fetcher(start, stop)
            self._block, self._block_start = b"", stop  # what follows is read ahead
            self._read_ahead()
            return data
        pieces = []
        while start < stop:
            self._load(start)
            piece = self._block[start - self._block_start : stop - self._block_start]
            pieces.append(piece)
            start += len(piece)
        self._read_ahead()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _load(self, pos: int) -> None:
        """Make the block holding `pos` the one in hand: already there, arriving, or fetched."""
        if self._block_start <= pos < self._block_start + len(self._block):
            self.hit_count += 1
            return
        if self._ahead and self._ahead[0][0] == pos:
            self.hit_count += 1
            self._depth = min(2 * self._depth, self._max_depth)  # read in order: look further
            arriving = self._pop()
            self._block, self._block_start = arriving.result(), pos
            return
        self._drop_ahead()  # a seek: the blocks on their way are not the ones wanted
        self._depth = min(FIRST_DEPTH, self._max_depth)
        self.miss_count += 1
        end = min(pos + self.blocksize, self.size)
        self.total_requested_bytes += end - pos
        self._block, self._block_start = self.fetcher(pos, end), pos

    def _read_ahead(self) -> None:
        start = (
            self._ahead[-1][0] + self.blocksize
            if self._ahead
            else (self._block_start + len(self._block))
        )
        free = sum(1 for _, _, charged in self._ahead if not charged)  # at most FIRST_DEPTH
        while len(self._ahead) < self._depth and start < self.size:  # at most `depth` blocks
            end = min(start + self.blocksize, self.size)
            charged = 0
            if free < FIRST_DEPTH:
                free += 1
            elif _extra_ahead.take(end - start):
                charged = end - start
            else:
                break  # the process reads far enough ahead already
            self.total_requested_bytes += end - start
            self._ahead.append((start, self._prefetch(start, end), charged))
            start = end

    def _pop(self) -> concurrent.futures.Future[bytes]:
        _, arriving, charged = self._ahead.popleft()
        _extra_ahead.give(charged)
        return arriving

    def _drop_ahead(self) -> None:
        while self._ahead:  # bounded: the deque only shrinks
            self._pop().cancel()

    def close(self) -> None:
        """Let go of the blocks on their way (and of the budget they hold)."""
        self._drop_ahead()
