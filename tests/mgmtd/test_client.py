"""flyfs.routing's clients against a real mgmtd: MgmtdClient, RoutingWatcher, fetch_routing."""

from __future__ import annotations

import asyncio
import threading

import grpc
import pytest
from mgmtd_harness import CLUSTER, STORAGE, UPTODATE

from flyfs.chains import OFFLINE, SERVING
from flyfs.errors import Code, FlyfsError
from flyfs.proto import mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.routing import MgmtdClient, Routing, RoutingTables, RoutingWatcher, fetch_routing


def storage_request(node_id: int) -> mgmtd_pb2.RegisterNodeRequest:
    return mgmtd_pb2.RegisterNodeRequest(
        type=STORAGE,
        node_id=node_id,
        data_address=f"127.0.0.1:{7000 + node_id}",
        targets=[mgmtd_pb2.TargetReport(target_id=node_id * 10 + 1, local_state=UPTODATE)],
    )


def test_client_registers_heartbeats_and_manages_chains(fresh_mgmtd):
    async def body():
        client = MgmtdClient(fresh_mgmtd.address, cluster_id=CLUSTER)
        try:
            regs = [await client.register(storage_request(n)) for n in (1, 2, 3)]
            beat = mgmtd_pb2.HeartbeatRequest(node_id=1, incarnation=regs[0].incarnation)
            assert (await client.heartbeat(beat)).lease_ms == 30_000
            made = await client.create_chains(replicas=3)
            routing = await client.routing()
            assert routing.version == made.routing_version
            assert await client.routing(known_version=routing.version) is None
            head = routing.head(1)
            changed = await client.set_target_state(head, OFFLINE, reason="test")
            assert changed.chain.target_ids[-1] == head
            with pytest.raises(FlyfsError) as info:
                await client.create_chains()
            assert info.value.code is Code.INVALID_ARGUMENT
        finally:
            await client.close()

    asyncio.run(body())


def test_a_client_of_another_cluster_is_refused(fresh_mgmtd):
    async def body():
        client = MgmtdClient(fresh_mgmtd.address, cluster_id="elsewhere")
        try:
            with pytest.raises(ConnectionRefusedError) as info:
                await client.routing()
            assert info.value.code is Code.CLUSTER_MISMATCH
        finally:
            await client.close()

    asyncio.run(body())


def test_watcher_polls_and_refreshes_from_another_loop(fresh_mgmtd, fresh):
    fresh.register_storage(1, [11])
    seen: list[int] = []

    async def body():
        client = MgmtdClient(fresh_mgmtd.address, cluster_id=CLUSTER, timeout_s=1)
        watcher = RoutingWatcher(
            client, interval_s=0.05, on_change=lambda r: seen.append(r.version)
        )
        try:
            first = await watcher.start()
            assert watcher.current is first
            fresh.register_storage(2, [21])
            for _ in range(200):  # the poll picks it up
                if watcher.current.version > first.version:
                    break
                await asyncio.sleep(0.01)
            assert watcher.current.version == first.version + 1
            # Another thread's event loop asks for a version that does not exist yet.
            fresh.register_storage(3, [31])
            target = first.version + 2
            result: list[Routing] = []
            thread = threading.Thread(
                target=lambda: result.append(asyncio.run(watcher.refresh(target)))
            )
            thread.start()
            while thread.is_alive():
                await asyncio.sleep(0.01)
            assert result[0].version >= target and watcher.current.version >= target
            tables = RoutingTables(lambda: watcher.current)
            fresh.create_chains(replicas=3)
            latest = await watcher.refresh(target + 1)
            assert tables.current().chain_ids == (1,) and latest.serving(1)
            with pytest.raises(FlyfsError) as info:
                await watcher.refresh(latest.version + 100)
            assert info.value.code is Code.ROUTING_STALE
        finally:
            await watcher.close()
            await client.close()

    asyncio.run(body())
    assert seen == sorted(seen) and len(seen) >= 3


def test_fetch_routing_is_a_sync_one_shot(fresh_mgmtd, fresh):
    fresh.register_storage(1, [11])
    routing = fetch_routing(fresh_mgmtd.address)
    assert routing.cluster_id == CLUSTER and routing.target(11).public_state == SERVING


def test_watch_routing_streams_each_new_version(fresh_mgmtd, fresh):
    with grpc.insecure_channel(fresh_mgmtd.address) as channel:
        stub = mgmtd_pb2_grpc.MgmtdStub(channel)
        stream = stub.WatchRouting(mgmtd_pb2.WatchRoutingRequest(cluster_id=CLUSTER), timeout=10)
        first = next(stream).routing.routing_version
        fresh.register_storage(1, [11])
        assert next(stream).routing.routing_version == first + 1
        stream.cancel()
