"""Files opened `rb`: fsspec's buffered file over ranged reads of one inode.

The file stats its path once at open (DESIGN.md: no stale cached length)
and then reads by inode, so a file replaced while open keeps reading the
version it opened (until meta collects it, `gc_delay_s`).

Readahead (cache type "readahead", the default): reads are served from one
block (the file's chunk size unless `block_size` says otherwise) while the
next blocks are already being fetched in the background (from different
chains, so from several nodes at once), so a sequential reader waits for
storage only on its first block. Event loops keep the window full
themselves (fsspec's and `data_loops - 1` more, see `client.loops`): up to
`max_concurrency` fetch tasks each go on to the next block as soon as
theirs is in, so the reading thread does nothing per block but wait for
the one it wants. The window (blocks fetched or on their way, not yet
read) starts at four blocks and doubles with every block read in order,
up to `readahead_bytes` (64 MiB by default); a seek drops what is on its
way and starts again at four. Blocks past the first four count against one
budget for the whole process (`EXTRA_AHEAD_BYTES`, 256 MiB), so many files
read at once stay bounded. Why grow it: one 4 MiB block takes a few
milliseconds end to end, so the window is what bounds a sequential reader
(measured on 3 local nodes: 1.7 GB/s with 4 blocks ahead, 2.2 with 8, 2.7
with 16, no better with 32), while a reader that seeks should not pay for
blocks it never reads. Why bound the fetches apart from it: blocks that
arrived behind a slow one held half of a 16-block window, so the number in
flight swung from 16 to 0; 8 fetches kept in flight within the same window
read 4 MiB blocks 5-10 % faster (docs/decisions.md). A read larger than a
block is fetched whole, all its chunks in parallel. Other fsspec cache
types ("none", "bytes", ...) still work and fetch on demand.

Copies: `read()` returns `bytes`: blocks are received straight into their
`bytes` (0 copies), a read of exactly the block in hand is that object, a
smaller read slices it (1 copy); `readinto()` of at least a block reads
straight into the caller's buffer (0 copies).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsspec.asyn import sync
from fsspec.caching import BaseCache
from fsspec.spec import AbstractBufferedFile

from flyfs.proto import meta_pb2

from .loops import loops

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
                self.blocksize,
                self._fetch_range,
                self.size,
                self._fetch_async,
                lambda: loops(self.fs.loop, fs.data_loops),
                readahead_bytes,
                fs.max_concurrency,
            )

    def _fetch_range(self, start: int, end: int) -> bytes:
        return sync(self.fs.loop, self.fs._read_inode, self.inode, start, end)

    def _fetch_async(self, start: int, end: int) -> Awaitable[bytes]:
        return self.fs._read_inode(self.inode, start, end)

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
        self._lock = threading.Lock()
        # A forked child: the parent's reads are not its own, and a parent's thread
        # may have held the lock at the fork.
        os.register_at_fork(after_in_child=self._forget_parent)

    def take(self, nbytes: int) -> bool:
        with self._lock:
            if self.used + nbytes > self.limit:
                return False
            self.used += nbytes
            return True

    def give(self, nbytes: int) -> None:
        if not nbytes:
            return
        with self._lock:
            self.used = max(0, self.used - nbytes)

    def _forget_parent(self) -> None:
        self._lock = threading.Lock()
        self.used = 0


_extra_ahead = _AheadBudget(EXTRA_AHEAD_BYTES)


class Readahead(BaseCache):
    """One block in hand, the next ones (a window growing to `ahead_bytes`) on their way.

    The blocks ahead are a `_Stream` whose fetch tasks run on the event
    loops (`client.loops`) and start the next block's fetch themselves, so
    the reading thread only waits for the block it wants.
    """

    name = "flyfs-readahead"

    def __init__(
        self,
        blocksize: int,
        fetcher: Callable[[int, int], bytes],
        size: int,
        fetch_async: Callable[[int, int], Awaitable[bytes]],
        loops_of: Callable[[], Sequence[asyncio.AbstractEventLoop]],
        ahead_bytes: int,
        max_fetches: int,
    ) -> None:
        super().__init__(blocksize, fetcher, size)
        self._max_fetches = max_fetches
        self._fetch_async = fetch_async
        self._loops_of = loops_of
        self._max_depth = max(1, ahead_bytes // blocksize)
        self._block, self._block_start = b"", 0
        self._stream: _Stream | None = None

    @property
    def total_requested_bytes(self) -> int:
        """Bytes fetched: on demand, by the streams before, and by the one going on."""
        return self._requested + (0 if self._stream is None else self._stream.fetched_bytes)

    @total_requested_bytes.setter
    def total_requested_bytes(self, value: int) -> None:  # BaseCache starts it at 0
        self._requested = value

    def _fetch(self, start: int | None, stop: int | None) -> bytes:
        start = start or 0
        stop = self.size if stop is None else min(stop, self.size)
        if start >= stop:
            return b""
        if stop - start > self.blocksize:  # a big read: all of it at once, in parallel
            self.miss_count += 1
            self._requested += stop - start
            if not self._streaming_from(stop):
                self.close()  # the blocks on their way are not the ones wanted
            data = self.fetcher(start, stop)
            self._block, self._block_start = b"", stop
            self._follow(stop)  # what follows is read ahead
            return data
        pieces = []
        while start < stop:
            self._load(start)
            piece = self._block[start - self._block_start : stop - self._block_start]
            pieces.append(piece)
            start += len(piece)
        self._follow(self._block_start + len(self._block))
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _load(self, pos: int) -> None:
        """Make the block holding `pos` the one in hand: already there, or from the stream."""
        if self._block_start <= pos < self._block_start + len(self._block):
            self.hit_count += 1
            return
        if self._streaming_from(pos):
            self.hit_count += 1
        else:  # a seek: the blocks on their way are not the ones wanted
            self.miss_count += 1
            self._restart(pos)
        stream = self._stream
        assert stream is not None
        try:
            self._block, self._block_start = stream.take(), pos
        except BaseException:
            self.close()  # the next read starts afresh, and tries that block again
            raise

    def _follow(self, pos: int) -> None:
        """Have blocks from `pos` on the way, unless they already are."""
        if pos < self.size and not self._streaming_from(pos):
            self._restart(pos)

    def _streaming_from(self, pos: int) -> bool:
        """Whether this process's stream brings the block at `pos` next."""
        stream = self._stream
        return stream is not None and stream.usable() and stream.next_start == pos

    def _restart(self, pos: int) -> None:
        self.close()
        self._stream = _Stream(
            self._loops_of(),
            self._fetch_async,
            pos,
            self.size,
            self.blocksize,
            self._max_depth,
            self._max_fetches,
        )

    @property
    def ahead(self) -> int:
        """Blocks fetched or being fetched and not yet read."""
        return 0 if self._stream is None else self._stream.held()

    def close(self) -> None:
        """Let go of the blocks on their way (and of the budget they hold)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
            self._requested += stream.fetched_bytes


@dataclass(eq=False)
class _Lane:
    """A stream's fetch tasks on one event loop, and whether that loop waits for the reader."""

    loop: asyncio.AbstractEventLoop
    index: int
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stalled: bool = True


class _Stream:
    """A file's blocks from one offset on, fetched on event loops ahead of the reader.

    Up to `max_fetches` fetch tasks run, dealt to the lanes (one per loop
    of `client.loops`, so that more than one thread receives); each, once
    its block is in, claims the next block not yet claimed and asks for it
    in the same loop turn, as a thread on a blocking socket would (a task
    per block cost a loop turn to start, and a turn is a few milliseconds
    while 4 MiB payloads arrive on other connections).  Blocks fetched and
    not yet taken stay within the window's `depth`, which starts at
    FIRST_DEPTH and doubles with every block taken, up to `max_depth`;
    blocks past the first FIRST_DEPTH held count against the process's
    budget (`_extra_ahead`) until taken or dropped.  A task with no room
    for a next block ends; its loop starts new ones when the reader takes a
    block or the depth grows (a `stalled` lane: the reader wakes its loop).
    The reader waits on one future per block, made by whichever side needs
    it first.
    """

    def __init__(
        self,
        loops: Sequence[asyncio.AbstractEventLoop],
        fetch: Callable[[int, int], Awaitable[bytes]],
        start: int,
        size: int,
        blocksize: int,
        max_depth: int,
        max_fetches: int,
    ) -> None:
        self._lanes = [_Lane(loop, k) for k, loop in enumerate(loops)]
        self._pid = os.getpid()
        self._fetch = fetch
        self._size = size
        self._blocksize = blocksize
        self._max_depth = max_depth
        self._max_fetches = max(1, max_fetches)
        self.depth = min(FIRST_DEPTH, max_depth)
        self._start = start
        self.next_start = start  # the next block the reader takes (reader's side)
        self._taken = 0  # blocks the reader took
        # The loops' side, under _lock (lanes claim blocks from their own threads).
        self._launch_start = start  # the next block to fetch
        self._launched = 0  # blocks claimed for fetching
        self._lock = threading.Lock()
        self._futures: dict[int, concurrent.futures.Future[bytes]] = {}
        self._charged: dict[int, int] = {}  # block start -> budget bytes it holds
        self._closed = False
        for lane in self._lanes:
            lane.loop.call_soon_threadsafe(self._top_up, lane)

    def usable(self) -> bool:
        """Not in a forked child, whose copies of the parent's loops never run."""
        return self._pid == os.getpid()

    def held(self) -> int:
        return self._launched - self._taken

    @property
    def fetched_bytes(self) -> int:
        return self._launch_start - self._start

    def settled(self) -> bool:
        """Nothing in flight, and every loop waits for the reader (for tests)."""
        return all(not lane.tasks and lane.stalled for lane in self._lanes)

    def _future(self, start: int) -> concurrent.futures.Future[bytes]:
        with self._lock:
            future = self._futures.get(start)
            if future is None:
                future = self._futures[start] = concurrent.futures.Future()
            return future

    def _fetches_wanted(self, lane: _Lane) -> int:
        """This lane's share of the fetches the window wants in flight."""
        wanted = min(self.depth, self._max_fetches)
        return (wanted + len(self._lanes) - 1 - lane.index) // len(self._lanes)

    # ---- the reader's side ----------------------------------------------------------------------

    def take(self) -> bytes:
        """The next block, waiting for it if it is still on its way."""
        start = self.next_start
        data = self._future(start).result()
        with self._lock:
            del self._futures[start]
            charged = self._charged.pop(start, 0)
        _extra_ahead.give(charged)
        self.next_start = start + len(data)
        self._taken += 1
        depth = self.depth
        self.depth = min(2 * depth, self._max_depth)  # read in order: look further
        for lane in self._lanes:
            if lane.stalled or self.depth != depth:
                lane.loop.call_soon_threadsafe(self._top_up, lane)
        return data

    def close(self) -> None:
        if not self.usable():
            return  # a forked child: the parent's loops never run here; its lock may be held
        self._closed = True
        with self._lock:
            futures, self._futures = self._futures, {}
            charged, self._charged = self._charged, {}
        for future in futures.values():
            future.cancel()
        _extra_ahead.give(sum(charged.values()))
        for lane in self._lanes:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs
                lane.loop.call_soon_threadsafe(self._cancel_tasks, lane)

    # ---- the loops' side ------------------------------------------------------------------------

    def _claim(self) -> tuple[int, int] | None:
        """The next block to fetch, if the window (and past FIRST_DEPTH, the budget) has room."""
        with self._lock:
            if (
                self._closed
                or self._launch_start >= self._size
                or self._launched - self._taken >= self.depth
            ):
                return None
            start = self._launch_start
            end = min(start + self._blocksize, self._size)
            if self._launched - self._taken - len(self._charged) >= FIRST_DEPTH:  # 4 go free
                if not _extra_ahead.take(end - start):
                    return None  # the process reads far enough ahead already
                self._charged[start] = end - start
            self._launch_start, self._launched = end, self._launched + 1
            return start, end

    def _top_up(self, lane: _Lane) -> None:
        """Start fetch tasks on `lane` until its share runs or the window has no room."""
        lane.stalled = False
        taken = self._taken
        while len(lane.tasks) < self._fetches_wanted(lane):  # bounded: by max_fetches
            block = self._claim()
            if block is None:
                break
            task = lane.loop.create_task(self._fetch_from(lane, *block))
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)
        if len(lane.tasks) < self._fetches_wanted(lane) and not self._closed:
            # No room for more (or the file's end): the reader wakes the loop when it takes one.
            lane.stalled = True
            if self._taken != taken:  # it took one while we looked: look again
                lane.loop.call_soon(self._top_up, lane)

    async def _fetch_from(self, lane: _Lane, start: int, end: int) -> None:
        """Fetch this block, then each next one claimed, until the window has no room."""
        block: tuple[int, int] | None = (start, end)
        while block is not None:  # bounded: each turn fetches a later block of the file
            future = self._future(block[0])
            try:
                data = await self._fetch(*block)
            except BaseException as exc:
                _settle(future, exception=exc)
                if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
                    raise
                return  # the reader meets the error, and starts the stream again
            _settle(future, result=data)
            block = self._claim()
        lane.tasks.discard(asyncio.current_task())  # type: ignore[arg-type]
        self._top_up(lane)

    def _cancel_tasks(self, lane: _Lane) -> None:
        for task in list(lane.tasks):
            task.cancel()


def _settle(
    future: concurrent.futures.Future[bytes],
    result: bytes | None = None,
    exception: BaseException | None = None,
) -> None:
    """Answer a block's future, unless the reader's thread cancelled it meanwhile."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)  # type: ignore[arg-type]
