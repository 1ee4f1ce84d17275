"""The readahead window alone: it grows while a file is read in order and shrinks on a seek."""

from __future__ import annotations

import concurrent.futures

from flyfs.client import reader
from flyfs.client.reader import FIRST_DEPTH, Readahead

BLOCK = 10
SIZE = 1_000
DATA = bytes(i % 251 for i in range(SIZE))


class Fetches:
    """Serves DATA, counting what was fetched on demand and ahead."""

    def __init__(self) -> None:
        self.ahead: list[int] = []
        self.waited: list[int] = []

    def fetch(self, start: int, end: int) -> bytes:
        self.waited.append(start)
        return DATA[start:end]

    def prefetch(self, start: int, end: int) -> concurrent.futures.Future[bytes]:
        self.ahead.append(start)
        done: concurrent.futures.Future[bytes] = concurrent.futures.Future()
        done.set_result(DATA[start:end])
        return done


def window(cache: Readahead) -> int:
    return len(cache._ahead)


def test_the_window_doubles_per_block_read_in_order_up_to_the_limit() -> None:
    fetches = Fetches()
    cache = Readahead(BLOCK, fetches.fetch, SIZE, fetches.prefetch, ahead_bytes=8 * BLOCK)
    assert cache._fetch(0, 5) == DATA[:5]
    assert window(cache) == FIRST_DEPTH
    seen = []
    for start in range(BLOCK, 6 * BLOCK, BLOCK):
        assert cache._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
        seen.append(window(cache))
    assert seen == [8, 8, 8, 8, 8]  # 4 -> 8 at the first block in order, then capped
    assert fetches.waited == [0]  # only the first block was waited for
    assert sorted(fetches.ahead) == sorted(set(fetches.ahead))  # nothing fetched twice


def test_a_seek_starts_the_window_again_small() -> None:
    fetches = Fetches()
    cache = Readahead(BLOCK, fetches.fetch, SIZE, fetches.prefetch, ahead_bytes=64 * BLOCK)
    for start in range(0, 5 * BLOCK, BLOCK):
        cache._fetch(start, start + BLOCK)
    assert window(cache) == 64  # the first block, then 4 in order: 4 -> 8 -> 16 -> 32 -> 64
    assert cache._fetch(700, 705) == DATA[700:705]  # a seek
    assert window(cache) == FIRST_DEPTH
    assert fetches.waited == [0, 700]


def test_a_limit_below_four_blocks_is_honoured() -> None:
    fetches = Fetches()
    cache = Readahead(BLOCK, fetches.fetch, SIZE, fetches.prefetch, ahead_bytes=2 * BLOCK)
    for start in range(0, 4 * BLOCK, BLOCK):
        cache._fetch(start, start + BLOCK)
        assert window(cache) <= 2
    cache_none = Readahead(BLOCK, fetches.fetch, SIZE, fetches.prefetch, ahead_bytes=0)
    cache_none._fetch(0, 1)
    assert window(cache_none) == 1  # at least one block ahead


def test_blocks_past_the_first_four_share_one_budget_per_process(monkeypatch) -> None:
    budget = reader._AheadBudget(6 * BLOCK)
    monkeypatch.setattr(reader, "_extra_ahead", budget)
    caches = []
    for _ in range(2):  # two files read in order at once
        fetches = Fetches()
        cache = Readahead(BLOCK, fetches.fetch, SIZE, fetches.prefetch, ahead_bytes=32 * BLOCK)
        for start in range(0, 4 * BLOCK, BLOCK):
            cache._fetch(start, start + BLOCK)
        caches.append(cache)
    # The first file took the whole budget; the second keeps its free four.
    assert [window(c) for c in caches] == [FIRST_DEPTH + 6, FIRST_DEPTH]
    assert budget.used == 6 * BLOCK
    caches[0].close()  # what it held ahead goes back ...
    assert budget.used == 0 and window(caches[0]) == 0
    caches[1]._fetch(4 * BLOCK, 5 * BLOCK)  # ... and the other file may look further
    assert window(caches[1]) == FIRST_DEPTH + 6
    for start in range(5 * BLOCK, SIZE, BLOCK):  # read to the end: everything returned
        assert caches[1]._fetch(start, start + BLOCK) == DATA[start : start + BLOCK]
    assert budget.used == 0 and window(caches[1]) == 0
