"""ClusterState in-process: the chain-update rule as of a given time, and restart grace.

The server runs `update_chains(now)` on a timer; here it is driven by hand
with mgmtd's clock replaced.
"""

from __future__ import annotations

import asyncio

import pytest
from mgmtd_harness import STORAGE, UPTODATE

from flyfs.chains import LASTSRV, OFFLINE, ONLINE, SERVING, SYNCING, WAITING
from flyfs.errors import Code, FlyfsError
from flyfs.heartbeats import check_lease
from flyfs.kv import KvConfig, open_database
from flyfs.mgmtd import create_chains
from flyfs.mgmtd.config import MgmtdConfig
from flyfs.mgmtd.state import ClusterState
from flyfs.proto import mgmtd_pb2


def register(state: ClusterState, node_id: int) -> mgmtd_pb2.RegisterNodeResponse:
    request = mgmtd_pb2.RegisterNodeRequest(
        type=STORAGE,
        node_id=node_id,
        data_address=f"127.0.0.1:{7000 + node_id}",
        targets=[mgmtd_pb2.TargetReport(target_id=node_id * 10 + 1, local_state=UPTODATE)],
    )
    return asyncio.run(state.register(request))


def test_update_chains_as_of_now(tmp_path):
    config = MgmtdConfig(lease_s=10.0, kv=KvConfig(sqlite_path=str(tmp_path / "kv.db")))
    db = open_database(config.kv)
    clock = [100.0]

    async def opened() -> ClusterState:
        state = await ClusterState.open(db, config)
        state.clock = lambda: clock[0]
        return state

    try:
        state = asyncio.run(opened())
        regs = {n: register(state, n) for n in (1, 2, 3)}
        request = mgmtd_pb2.CreateChainsRequest(replicas=3)
        asyncio.run(state.change(lambda m: create_chains.run(m, request)))
        assert asyncio.run(state.update_chains(105.0)) == []
        clock[0] = 108.0  # nodes 2 and 3 heartbeat later than node 1
        for n in (2, 3):
            asyncio.run(
                state.heartbeat(
                    mgmtd_pb2.HeartbeatRequest(node_id=n, incarnation=regs[n].incarnation)
                )
            )
        version = state.version
        # Node 1 is silent for the lease (10 s) plus the margin (1 s) before it moves.
        assert asyncio.run(state.update_chains(110.9)) == []
        assert asyncio.run(state.update_chains(111.1)) == [1]
        assert state.model.members(1) == [(21, SERVING), (31, SERVING), (11, OFFLINE)]
        assert state.version == version + 1 and state.model.chains[1].chain_version == 2
        register(state, 1)  # back: alive again, so it waits for a resync
        asyncio.run(state.update_chains(clock[0]))
        assert state.model.members(1)[-1] == (11, WAITING)
    finally:
        db.close()


def test_a_reopened_state_gives_every_node_a_lease_of_grace(tmp_path):
    config = MgmtdConfig(lease_s=10.0, kv=KvConfig(sqlite_path=str(tmp_path / "kv.db")))
    db = open_database(config.kv)
    try:
        state = asyncio.run(ClusterState.open(db, config))
        state.clock = lambda: 0.0
        for n in (1, 2, 3):
            register(state, n)
        reopened = asyncio.run(ClusterState.open(db, config))
        assert reopened.model.routing() == state.model.routing()
        now = reopened.live.beat_monotonic[1]
        assert all(f.alive for f in reopened.facts(now + 10.9).values())
        assert not any(f.alive for f in reopened.facts(now + 11.1).values())
    finally:
        db.close()


def _chained_state(tmp_path, clock: list[float]) -> tuple[ClusterState, dict, object]:
    config = MgmtdConfig(lease_s=10.0, kv=KvConfig(sqlite_path=str(tmp_path / "kv.db")))
    db = open_database(config.kv)

    async def opened() -> ClusterState:
        state = await ClusterState.open(db, config)
        state.clock = lambda: clock[0]
        return state

    state = asyncio.run(opened())
    regs = {n: register(state, n) for n in (1, 2, 3)}
    request = mgmtd_pb2.CreateChainsRequest(replicas=3)
    asyncio.run(state.change(lambda m: create_chains.run(m, request)))
    return state, regs, db


def test_a_restarted_node_leaves_its_chains_and_the_last_server_is_lastsrv(tmp_path):
    clock = [100.0]
    state, _, db = _chained_state(tmp_path, clock)
    try:
        head, middle, tail = (t for t, _ in state.model.members(1))
        version = state.model.chains[1].chain_version
        register(state, head // 10)  # a new incarnation may have missed writes
        assert state.model.members(1) == [(middle, SERVING), (tail, SERVING), (head, OFFLINE)]
        assert state.model.chains[1].chain_version == version + 1
        register(state, middle // 10)
        register(state, tail // 10)  # the last that served: the chain waits for it
        assert dict(state.model.members(1))[tail] == LASTSRV
        asyncio.run(state.update_chains(clock[0]))
        members = dict(state.model.members(1))
        assert members[tail] == SERVING
        # The others come back one resync at a time.
        assert sorted([members[head], members[middle]]) == sorted([SYNCING, WAITING])
    finally:
        db.close()


def test_syncing_ends_only_with_uptodate_for_the_current_chain_version(tmp_path):
    clock = [100.0]
    state, _, db = _chained_state(tmp_path, clock)
    try:
        head = state.model.members(1)[0][0]
        node = head // 10
        reg = register(state, node)
        for _ in range(3):  # OFFLINE -> WAITING -> SYNCING
            asyncio.run(state.update_chains(clock[0]))
        assert dict(state.model.members(1))[head] == SYNCING
        syncing_version = state.model.chains[1].chain_version

        def beat(local_state: int, chain_version: int) -> None:
            report = mgmtd_pb2.TargetReport(
                target_id=head, local_state=local_state, chain_version=chain_version
            )
            request = mgmtd_pb2.HeartbeatRequest(
                node_id=node, incarnation=reg.incarnation, targets=[report]
            )
            asyncio.run(state.heartbeat(request))

        beat(UPTODATE, syncing_version - 1)  # judged under older routing: not believed
        asyncio.run(state.update_chains(clock[0]))
        assert dict(state.model.members(1))[head] == SYNCING
        beat(ONLINE, syncing_version)
        asyncio.run(state.update_chains(clock[0]))
        assert dict(state.model.members(1))[head] == SYNCING
        beat(UPTODATE, syncing_version)
        asyncio.run(state.update_chains(clock[0]))
        assert state.model.members(1)[-1] == (head, SERVING)
    finally:
        db.close()


def test_a_live_report_is_judged_whole_not_mixed_with_the_stored_state(tmp_path):
    """A report stored in memory before its model change lands must not pair the old
    stored UPTODATE with its own (current) chain version."""
    clock = [100.0]
    state, _, db = _chained_state(tmp_path, clock)
    try:
        head = state.model.members(1)[0][0]
        reg = register(state, head // 10)
        for _ in range(3):
            asyncio.run(state.update_chains(clock[0]))
        assert dict(state.model.members(1))[head] == SYNCING
        assert state.model.targets[head].local_state == UPTODATE  # stored from before
        report = mgmtd_pb2.TargetReport(
            target_id=head, local_state=ONLINE, chain_version=state.model.chains[1].chain_version
        )
        state.live.beat(reg.node_id, clock[0], [report])  # the model update has not run yet
        asyncio.run(state.update_chains(clock[0]))
        assert dict(state.model.members(1))[head] == SYNCING
    finally:
        db.close()


def test_a_lease_a_node_would_be_fenced_within_is_refused():
    check_lease(10.0, 1.0)
    check_lease(3.0, 0.3)
    for lease, heartbeat in ((1.0, 0.1), (1.5, 1.0), (10.0, 5.0), (10.0, 0.0)):
        with pytest.raises(FlyfsError) as refused:
            check_lease(lease, heartbeat)
        assert refused.value.code == Code.INVALID_ARGUMENT
