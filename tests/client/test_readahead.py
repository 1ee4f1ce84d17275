"""The readahead window alone, on a real event loop in its own thread (as fsspec runs it)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from flyfs.client import reader
from flyfs.client.reader import FIRST_DEPTH, Readahead

BLOCK = 10
SIZE = 1_000
DATA = bytes(i % 251 for i in range(SIZE))
SETTLE_S = 5.0


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    for cache in _caches.pop(loop, []):
        cache.close()

    async def cancelled() -> None:  # a turn for the cancelled fetches to end
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*others, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancelled(), loop).result(SETTLE_S)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=SETTLE_S)
    loop.close()


_caches: dict[asyncio.AbstractEventLoop, list[Readahead]] = {}


class Fetches:
    """Serves DATA, counting what was fetched in the background and on demand."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.ahead: list[int] = []
        self.waited: list[int] = []
        self.fail_at = fail_at

    def fetch(self, start: int, end: int) -> bytes:
        self.waited.append(start)
        return DATA[start:end]

    async def fetch_async(self, start: int, end: int) -> bytes:
        self.ahead.append(start)
        if start == self.fail_at:
            self.fail_at = None  # once
            raise OSError(5, "replica gone")
        return DATA[start:end]


def cache_for(
    loop: asyncio.AbstractEventLoop,
    fetches: Fetches,
    ahead_bytes: int,
    size: int = SIZE,
    max_fetches: int = 8,
) -> Readahead:
    cache = Readahead(
        BLOCK, fetches.fetch, size, fetches.fetch_async, lambda: [loop], ahead_bytes, max_fetches
    )
    _caches.setdefault(loop, []).append(cache)
    return cache


def settled(cache: Readahead) -> int:
    """Blocks held ahead, once the loop has nothing more in flight."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:  # bounded by SETTLE_S
        stream = cache._stream
        if stream is None:
            return 0
        # A turn of the loop runs what the reader asked of it before we look.
        for lane in stream._lanes:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), lane.loop).result(SETTLE_S)
        if stream.settled():
            return cache.ahead
        time.sleep(0.001)
    raise AssertionError(f"the loop kept fetching for {SETTLE_S} s")


def test_the_window_doubles_per_block_read_in_order_up_to_the_limit(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=8 * BLOCK)
    assert cache._fetch(0, 5) == DATA[:5]
    seen = [settled(cache)]
    for start in range(BLOCK, 6 * BLOCK, BLOCK):
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
        seen.append(settled(cache))
    assert seen == [8] * 6  # 4 -> 8 at the first block read, then capped
    assert fetches.waited == []  # every block came from the loop
    assert fetches.ahead == list(range(0, 14 * BLOCK, BLOCK))  # in order, none twice


def test_a_seek_starts_the_window_again_small(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=64 * BLOCK)
    for start in range(0, 5 * BLOCK, BLOCK):
        cache._fetch(start, start + BLOCK)
    assert settled(cache) == 64  # doubled per block read: 4 -> 8 -> ... -> 64, the limit
    assert cache._fetch(700, 705) == DATA[700:705]  # a seek
    assert settled(cache) == 2 * FIRST_DEPTH  # 4 again, doubled at its first block
    assert fetches.ahead.count(700) == 1


def test_a_limit_below_four_blocks_is_honoured(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=2 * BLOCK)
    for start in range(0, 4 * BLOCK, BLOCK):
        cache._fetch(start, start + BLOCK)
        assert settled(cache) <= 2
    no_limit = cache_for(loop, Fetches(), ahead_bytes=0)
    no_limit._fetch(0, 1)
    assert settled(no_limit) == 1  # at least one block ahead


class Overlapping(Fetches):
    """Fetches that take a moment, counting how many run at once and on which threads."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most = 0
        self.threads: set[str] = set()

    async def fetch_async(self, start: int, end: int) -> bytes:
        self.running += 1
        self.most = max(self.most, self.running)
        self.threads.add(threading.current_thread().name)
        try:
            await asyncio.sleep(0.002)
            return await super().fetch_async(start, end)
        finally:
            self.running -= 1


def test_fetches_in_flight_stay_within_max_fetches_while_the_window_fills(loop) -> None:
    fetches = Overlapping()
    cache = cache_for(loop, fetches, ahead_bytes=32 * BLOCK, max_fetches=3)
    for start in range(0, 20 * BLOCK, BLOCK):
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
    assert settled(cache) == 32  # the window is not bounded by the fetches in flight
    assert fetches.most == 3
    assert fetches.ahead == list(range(0, 52 * BLOCK, BLOCK))  # in order, none twice


def test_a_stream_fetches_on_every_loop_it_is_given(loop) -> None:
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, name="other-loop", daemon=True)
    thread.start()
    try:
        fetches = Overlapping()
        cache = Readahead(
            BLOCK, fetches.fetch, SIZE, fetches.fetch_async, lambda: [loop, other], 16 * BLOCK, 8
        )
        _caches.setdefault(loop, []).append(cache)
        got = b"".join(cache._fetch(start, start + BLOCK) for start in range(0, SIZE, BLOCK))
        assert got == DATA
        assert sorted(fetches.ahead) == list(range(0, SIZE, BLOCK))  # each block once
        assert "other-loop" in fetches.threads and len(fetches.threads) == 2
        assert settled(cache) == 0
    finally:
        cache.close()
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=SETTLE_S)
        other.close()


def test_blocks_past_the_first_four_share_one_budget_per_process(loop, monkeypatch) -> None:
    budget = reader._AheadBudget(6 * BLOCK)
    monkeypatch.setattr(reader, "_extra_ahead", budget)
    caches, held = [], []
    for _ in range(2):  # two files read in order at once
        cache = cache_for(loop, Fetches(), ahead_bytes=32 * BLOCK)
        held.append([])
        for start in range(0, 4 * BLOCK, BLOCK):
            cache._fetch(start, start + BLOCK)
            held[-1].append(settled(cache))
        caches.append(cache)
    assert held == [[8, 10, 10, 10], [4, 4, 4, 4]]  # the second file: no budget left
    # The first file took the whole budget; the second keeps its free four.
    assert [c.ahead for c in caches] == [FIRST_DEPTH + 6, FIRST_DEPTH]
    assert budget.used == 6 * BLOCK
    caches[0].close()  # what it held ahead goes back ...
    assert budget.used == 0 and caches[0].ahead == 0
    caches[1]._fetch(4 * BLOCK, 5 * BLOCK)  # ... and the other file may look further
    assert settled(caches[1]) == FIRST_DEPTH + 6
    held = []
    for start in range(5 * BLOCK, SIZE, BLOCK):  # read to the end: everything returned
        assert caches[1]._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
        held.append(settled(caches[1]))
    # Four blocks always go free, whichever blocks were charged when they started.
    assert held[:80] == [FIRST_DEPTH + 6] * 80
    assert held[-1] == 0 and budget.used == 0


def test_a_block_that_failed_is_fetched_again_by_the_next_read(loop) -> None:
    fetches = Fetches(fail_at=3 * BLOCK)
    cache = cache_for(loop, fetches, ahead_bytes=16 * BLOCK)
    for start in range(0, 3 * BLOCK, BLOCK):
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
    with pytest.raises(OSError, match="replica gone"):
        cache._fetch(3 * BLOCK, 4 * BLOCK)
    for start in range(3 * BLOCK, SIZE, BLOCK):  # the same block again, then on to the end
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
    assert fetches.ahead.count(3 * BLOCK) == 2


def test_a_large_read_is_fetched_whole_and_what_follows_read_ahead(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=8 * BLOCK)
    assert cache._fetch(5, 5 + 3 * BLOCK) == DATA[5 : 5 + 3 * BLOCK]
    assert fetches.waited == [5]
    assert settled(cache) == FIRST_DEPTH
    assert cache._fetch(5 + 3 * BLOCK, 5 + 4 * BLOCK) == DATA[5 + 3 * BLOCK : 5 + 4 * BLOCK]
    assert fetches.ahead[0] == 5 + 3 * BLOCK


def test_the_last_block_may_be_short_and_nothing_is_fetched_past_the_end(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=64 * BLOCK, size=95)
    got = b"".join(cache._fetch(start, start + BLOCK) for start in range(0, 95, BLOCK))
    assert got == DATA[:95]
    assert cache._fetch(95, 100) == b""
    assert settled(cache) == 0
    assert max(fetches.ahead) == 90


def test_a_forked_child_reads_on_with_its_own_loop(loop) -> None:
    """The parent's loop thread is not in the child: its blocks ahead must come from a new one."""
    loops = {os.getpid(): loop}

    def loops_of() -> list[asyncio.AbstractEventLoop]:  # as fsspec's `loop` rebinds after fork
        if os.getpid() not in loops:
            child_loop = asyncio.new_event_loop()
            threading.Thread(target=child_loop.run_forever, daemon=True).start()
            loops[os.getpid()] = child_loop
        return [loops[os.getpid()]]

    fetches = Fetches()
    cache = Readahead(BLOCK, fetches.fetch, SIZE, fetches.fetch_async, loops_of, 8 * BLOCK, 8)
    _caches.setdefault(loop, []).append(cache)
    assert cache._fetch(0, BLOCK) == DATA[:BLOCK]
    settled(cache)
    pid = os.fork()
    if pid == 0:  # the child: a hang ends in SIGALRM, a wrong byte in exit code 1
        ok = False
        try:
            signal.alarm(int(SETTLE_S))
            ok = all(
                cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
                for start in range(BLOCK, 20 * BLOCK, BLOCK)
            )
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for start in range(BLOCK, 20 * BLOCK, BLOCK):  # the parent reads on, untouched
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]


def test_a_large_read_elsewhere_drops_the_window_before_it_fetches(loop) -> None:
    fetches = Fetches()
    cache = cache_for(loop, fetches, ahead_bytes=8 * BLOCK)
    cache._fetch(0, BLOCK)
    settled(cache)
    window_at_fetch = []
    on_demand = fetches.fetch

    def fetch(start: int, end: int) -> bytes:
        window_at_fetch.append(cache._stream)
        return on_demand(start, end)

    cache.fetcher = fetch
    assert cache._fetch(500, 500 + 3 * BLOCK) == DATA[500 : 500 + 3 * BLOCK]
    assert window_at_fetch == [None]  # no stale blocks fetched beside the big read
    assert settled(cache) == FIRST_DEPTH  # and the window starts again behind it
