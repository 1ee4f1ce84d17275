"""CRAQ plans over an in-memory chain of real chunk stores: head, middle and tail rules.

The network is a dict of replicas; it can drop a forward (the successor
never sees it) or lose a reply (the successor applied it, the sender never
hears), and the chain can change between writes.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest

from flyfs.errors import Code, FlyfsError, error
from flyfs.layout import chunk_id
from flyfs.storage.chunk_store import ChunkStore
from flyfs.storage.craq import (
    ChainView,
    Effect,
    Forward,
    Outcome,
    Update,
    client_update,
    forwarded_update,
    run_plan,
)
from flyfs.storage.replica import apply_local

CHUNK = chunk_id(7, 0)
SIZE = 1 << 20
CLIENT = b"c" * 16


class MemChain:
    def __init__(self, tmp: Path, targets: tuple[int, ...] = (1, 2, 3)) -> None:
        self.stores = {t: ChunkStore(str(tmp / f"t{t}"), fsync=False) for t in targets}
        self.view = ChainView(9, 1, targets)
        self.unreachable: set[int] = set()  # forwards to these fail before arriving
        self.replies_lost: set[int] = set()  # these apply a forward, then the reply is lost
        self.forwards: list[tuple[int, int]] = []  # (to, version)

    def write(self, at: int, data: bytes, offset: int = 0, sequence: int = 1, **kw) -> Outcome:
        update = Update(
            CHUNK,
            "write",
            SIZE,
            chain_version=kw.pop("chain_version", self.view.version),
            offset=offset,
            data=memoryview(data),
            client_id=CLIENT,
            sequence=sequence,
            **kw,
        )
        return asyncio.run(self._run(at, client_update(self.view, at, update)))

    def forward(self, at: int, update: Update) -> Outcome:
        return asyncio.run(self._run(at, forwarded_update(self.view, at, update)))

    async def _run(self, me: int, plan) -> Outcome:
        async def handle(effect: Effect) -> object:
            if isinstance(effect, Forward):
                to = effect.to
                self.forwards.append((to, effect.update.update_ver))
                if to in self.unreachable:
                    raise error(Code.CONNECTION_LOST, f"target {to} unreachable")
                done = await self._run(to, forwarded_update(self.view, to, effect.update))
                if to in self.replies_lost:
                    raise error(Code.TIMEOUT, f"reply from {to} lost")
                return done
            return apply_local(self.stores[me], CHUNK, effect)

        return await run_plan(plan, handle)

    def state(self, target: int) -> tuple[int, int, bytes]:
        """(update_ver, commit_ver, committed bytes) of the chunk on `target`."""
        store = self.stores[target]
        info = store.meta(CHUNK)
        assert info is not None
        return info.update_ver, info.commit_ver, store.read(CHUNK, 0, SIZE)


@pytest.fixture
def chain(tmp_path: Path) -> MemChain:
    return MemChain(tmp_path)


def test_a_write_reaches_every_replica_committed(chain: MemChain) -> None:
    data = os.urandom(100_000)
    done = chain.write(1, data)
    assert (done.update_ver, done.commit_ver, done.duplicate) == (1, 1, False)
    chain.write(1, b"xyz", offset=99_999, sequence=2)
    want = data[:99_999] + b"xyz"
    assert [chain.state(t) for t in (1, 2, 3)] == [(2, 2, want)] * 3


def test_only_the_head_takes_client_writes(chain: MemChain) -> None:
    for at in (2, 3):
        with pytest.raises(FlyfsError) as info:
            chain.write(at, b"x")
        assert info.value.code == Code.ROUTING_STALE
    with pytest.raises(FlyfsError) as info:
        chain.write(1, b"x", chain_version=2)
    assert info.value.code == Code.CHAIN_VERSION_MISMATCH
    assert all(store.meta(CHUNK) is None for store in chain.stores.values())


def test_forwards_only_from_the_predecessor_under_the_same_chain_version(chain: MemChain) -> None:
    update = Update(CHUNK, "write", SIZE, 1, data=memoryview(b"x"), update_ver=1, from_target=1)
    with pytest.raises(FlyfsError) as info:
        chain.forward(3, update)  # 3's predecessor is 2
    assert info.value.code == Code.ROUTING_STALE
    with pytest.raises(FlyfsError) as info:
        chain.forward(2, replace(update, chain_version=0))
    assert info.value.code == Code.CHAIN_VERSION_MISMATCH
    with pytest.raises(FlyfsError) as info:
        chain.forward(1, update)  # the head takes no forwards
    assert info.value.code == Code.ROUTING_STALE


def test_stale_gap_and_conflicting_versions_are_refused_identical_is_acknowledged(
    chain: MemChain,
) -> None:
    chain.write(1, b"first")
    base = Update(CHUNK, "write", SIZE, 1, data=memoryview(b"other"), client_id=CLIENT)
    stale = replace(base, update_ver=1, sequence=5, from_target=2)
    gap = replace(base, update_ver=3, sequence=6, from_target=2)
    for update, code in ((stale, Code.STALE_VERSION), (gap, Code.VERSION_CONFLICT)):
        with pytest.raises(FlyfsError) as info:
            chain.forward(3, update)
        assert info.value.code == code
    # v2 pending on the tail's store (as if forwarded, reply not yet sent) ...
    pending = replace(base, update_ver=2, sequence=7, from_target=2)
    chain.stores[3].write(
        CHUNK, 0, b"other", update_ver=2, client_id=CLIENT, sequence=7, chunk_size=SIZE
    )
    # ... a different write at v2 conflicts; the identical one is acknowledged.
    with pytest.raises(FlyfsError) as info:
        chain.forward(3, replace(pending, data=memoryview(b"OTHER")))
    assert info.value.code == Code.VERSION_CONFLICT
    assert chain.forward(3, pending).commit_ver == 2
    assert chain.state(3) == (2, 2, b"other")


def test_a_pending_version_is_re_forwarded_unchanged_before_a_new_one(chain: MemChain) -> None:
    chain.write(1, b"a" * 10)
    chain.unreachable = {3}
    with pytest.raises(FlyfsError) as info:
        chain.write(1, b"B", offset=3, sequence=2)
    assert info.value.code == Code.CONNECTION_LOST
    assert chain.state(1)[:2] == (2, 1) and chain.state(2)[:2] == (2, 1)
    assert chain.state(3) == (1, 1, b"a" * 10)
    chain.unreachable = set()
    chain.forwards.clear()
    chain.write(1, b"C", offset=5, sequence=3)
    # v2 went down the chain again, unchanged, before v3 was assigned.
    assert chain.forwards == [(2, 2), (3, 2), (2, 3), (3, 3)]
    want = b"aaaBaCaaaa"
    assert [chain.state(t) for t in (1, 2, 3)] == [(3, 3, want)] * 3


def test_a_retry_after_a_lost_reply_applies_once(chain: MemChain) -> None:
    chain.replies_lost = {2}
    with pytest.raises(FlyfsError):
        chain.write(1, b"once", sequence=9)
    assert chain.state(2) == (1, 1, b"once") and chain.state(3) == (1, 1, b"once")
    assert chain.state(1)[:2] == (1, 0)  # the head never heard back: still pending
    chain.replies_lost = set()
    done = chain.write(1, b"once", sequence=9, retry=True)
    assert done.duplicate and done.commit_ver == 1
    assert [chain.state(t) for t in (1, 2, 3)] == [(1, 1, b"once")] * 3


def test_a_chain_change_mid_write_finishes_it_on_the_new_chain(chain: MemChain) -> None:
    chain.write(1, b"v1")
    chain.unreachable = {2}
    with pytest.raises(FlyfsError):
        chain.write(1, b"v2", sequence=2)
    # mgmtd drops target 2: chain version 2, serving (1, 3).
    chain.view = ChainView(9, 2, (1, 3))
    with pytest.raises(FlyfsError) as info:  # a forward still under version 1 is refused
        chain.forward(
            3, Update(CHUNK, "write", SIZE, 1, data=memoryview(b"z"), update_ver=2, from_target=1)
        )
    assert info.value.code == Code.CHAIN_VERSION_MISMATCH
    chain.write(1, b"v3", sequence=3)
    assert chain.state(1) == chain.state(3) == (3, 3, b"v3")
    assert chain.state(2)[:2] == (1, 1)  # left behind: resync catches it up


def test_truncate_replicates_like_a_write(chain: MemChain) -> None:
    chain.write(1, b"0123456789")
    update = Update(CHUNK, "truncate", SIZE, 1, length=4, client_id=CLIENT, sequence=2)
    asyncio.run(chain._run(1, client_update(chain.view, 1, update)))
    assert [chain.state(t) for t in (1, 2, 3)] == [(2, 2, b"0123")] * 3


def test_a_syncing_target_gets_each_write_as_the_whole_chunk(chain: MemChain) -> None:
    chain.write(1, b"0123456789")
    # Target 3 left and came back: SYNCING after the serving (1, 2), its copy stale.
    chain.view = ChainView(9, 2, (1, 2), syncing=3)
    chain.stores[3].remove([CHUNK])
    chain.forwards.clear()
    chain.write(1, b"AB", offset=4, sequence=2, chain_version=2)
    assert chain.forwards == [(2, 2), (3, 2)]
    # Whole and current there, though it never had v1: a full-chunk replace.
    assert [chain.state(t) for t in (1, 2, 3)] == [(2, 2, b"0123AB6789")] * 3
    with pytest.raises(FlyfsError) as info:  # it serves no client, takes forwards from 2 only
        chain.forward(
            3, Update(CHUNK, "write", SIZE, 2, data=memoryview(b"z"), update_ver=3, from_target=1)
        )
    assert info.value.code == Code.ROUTING_STALE
    assert chain.view.successor(3) is None and chain.view.predecessor(3) == 2
