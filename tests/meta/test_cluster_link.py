"""meta's side of mgmtd: statfs from target space, and staying registered."""

from __future__ import annotations

import asyncio

from flyfs.errors import Code, error
from flyfs.heartbeats import Heartbeater
from flyfs.meta.space import statfs
from flyfs.proto import mgmtd_pb2

GB = 1 << 30


def info(chains: dict[int, list[int]], space: dict[int, tuple[int, int]]):
    routing = mgmtd_pb2.RoutingInfo()
    chain_of = {t: c for c, ts in chains.items() for t in ts}
    for target, (capacity, used) in space.items():
        routing.targets.add(
            target_id=target,
            chain_id=chain_of.get(target, 0),
            capacity_bytes=capacity,
            used_bytes=used,
        )
    for chain, targets in chains.items():
        routing.chains.add(chain_id=chain, target_ids=targets)
    return routing


def test_statfs_counts_each_byte_once_per_chain():
    space = {t: (100 * GB, 30 * GB) for t in range(1, 7)}
    answer = statfs(info({1: [1, 2, 3], 2: [4, 5, 6]}, space))
    assert (answer.capacity_bytes, answer.used_bytes) == (200 * GB, 60 * GB)
    assert answer.free_bytes == 140 * GB


def test_statfs_leaves_out_targets_in_no_chain_and_counts_raw_before_any_chain():
    space = {1: (100 * GB, 0), 2: (100 * GB, 0), 3: (50 * GB, 10 * GB)}
    assert statfs(info({1: [1, 2]}, space)).capacity_bytes == 100 * GB
    assert statfs(info({}, space)).capacity_bytes == 250 * GB
    assert statfs(mgmtd_pb2.RoutingInfo()).capacity_bytes == 0


class FakeMgmtd:
    address = "127.0.0.1:1"

    def __init__(self):
        self.registrations: list[mgmtd_pb2.RegisterNodeRequest] = []
        self.heartbeats: list[mgmtd_pb2.HeartbeatRequest] = []
        self.forget = False

    async def register(self, request):
        self.registrations.append(type(request).FromString(request.SerializeToString()))
        return mgmtd_pb2.RegisterNodeResponse(
            node_id=7, incarnation=len(self.registrations), heartbeat_interval_ms=250
        )

    async def heartbeat(self, request):
        self.heartbeats.append(request)
        if self.forget:
            raise error(Code.UNKNOWN_NODE, "no such incarnation")
        return mgmtd_pb2.HeartbeatResponse()


def test_heartbeats_use_the_registration_and_register_again_when_forgotten():
    mgmtd = FakeMgmtd()
    heartbeater = Heartbeater(mgmtd, mgmtd_pb2.RegisterNodeRequest(name="meta"))

    async def scenario():
        await heartbeater.register()
        assert heartbeater.interval_s == 0.25
        heartbeater.applied_version = 12
        await heartbeater.beat()
        mgmtd.forget = True
        await heartbeater.beat()

    asyncio.run(scenario())
    first = mgmtd.heartbeats[0]
    assert (first.node_id, first.incarnation, first.applied_routing_version) == (7, 1, 12)
    assert [r.node_id for r in mgmtd.registrations] == [0, 7]  # keeps its node id
    assert heartbeater.registered.incarnation == 2
