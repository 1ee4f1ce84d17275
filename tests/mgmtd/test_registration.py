"""RegisterNode, Heartbeat and GetRoutingInfo against a real mgmtd."""

from __future__ import annotations

import pytest
from mgmtd_harness import CLUSTER, META, UPTODATE

from flyfs.errors import Code, FlyfsError
from flyfs.proto import mgmtd_pb2
from flyfs.routing import Routing

ONLINE = mgmtd_pb2.LOCAL_TARGET_STATE_ONLINE


def code_of(call) -> Code:
    with pytest.raises(FlyfsError) as info:
        call()
    return info.value.code


def test_ids_are_assigned_or_kept(mgmtd):
    named = mgmtd.register_storage(101, [1011, 1012])
    assert named.node_id == 101 and list(named.target_ids) == [1011, 1012]
    assigned = mgmtd.register_storage(0, [0, 0])
    assert assigned.node_id > 101
    assert len(set(assigned.target_ids)) == 2 and min(assigned.target_ids) > 1012
    assert (named.heartbeat_interval_ms, named.lease_ms) == (1000, 30_000)
    routing = Routing(assigned.routing)
    assert routing.target(1011).node_id == 101
    assert routing.data_address(assigned.target_ids[0]) == ("127.0.0.1", 7000)  # asked as node 0


def test_every_registration_is_a_new_incarnation_and_supersedes_the_last(mgmtd):
    first = mgmtd.register_storage(102, [1021])
    second = mgmtd.register_storage(102, [1021])
    assert second.incarnation > first.incarnation
    assert second.routing.routing_version > first.routing.routing_version
    assert code_of(lambda: mgmtd.heartbeat(102, first.incarnation)) is Code.UNKNOWN_NODE
    assert code_of(lambda: mgmtd.heartbeat(999, 1)) is Code.UNKNOWN_NODE
    ack = mgmtd.heartbeat(102, second.incarnation)
    assert ack.sent_monotonic_ns == 12345 and ack.lease_ms == 30_000
    assert ack.routing_version >= second.routing.routing_version


def test_space_and_local_state_are_fresh_but_unversioned(mgmtd):
    reg = mgmtd.register_storage(103, [1031])
    version = mgmtd.routing().routing.routing_version
    report = mgmtd_pb2.TargetReport(
        target_id=1031, local_state=UPTODATE, capacity_bytes=100, used_bytes=42, chunk_count=3
    )
    assert mgmtd.heartbeat(103, reg.incarnation, [report]).routing_version == version
    assert mgmtd.routing(known_version=version).unchanged
    fresh = Routing(mgmtd.routing().routing)
    assert (fresh.target(1031).used_bytes, fresh.target(1031).chunk_count) == (42, 3)
    assert fresh.node(103).last_heartbeat_unix_ms > 0
    report.local_state = ONLINE
    assert mgmtd.heartbeat(103, reg.incarnation, [report]).routing_version == version
    assert Routing(mgmtd.routing().routing).target(1031).local_state == ONLINE


def test_a_heartbeat_may_not_report_another_nodes_target(mgmtd):
    mgmtd.register_storage(104, [1041])
    reg = mgmtd.register_storage(105, [1051])
    stray = mgmtd_pb2.TargetReport(target_id=1041, local_state=UPTODATE)
    assert code_of(lambda: mgmtd.heartbeat(105, reg.incarnation, [stray])) is (
        Code.INVALID_ARGUMENT
    )


def test_meta_servers_are_listed(mgmtd):
    request = mgmtd_pb2.RegisterNodeRequest(
        cluster_id=CLUSTER, type=META, node_id=201, grpc_address="127.0.0.1:6201"
    )
    mgmtd.call("RegisterNode", request)
    assert "127.0.0.1:6201" in Routing(mgmtd.routing().routing).meta_addresses()


def test_routing_is_unchanged_for_the_known_version(mgmtd):
    current = mgmtd.routing().routing
    assert current.cluster_id == CLUSTER and current.routing_version >= 1
    assert mgmtd.routing(known_version=current.routing_version).unchanged
    assert not mgmtd.routing(known_version=current.routing_version - 1).unchanged


def test_a_request_naming_another_cluster_is_refused(mgmtd):
    other = mgmtd_pb2.GetRoutingInfoRequest(cluster_id="some-other-cluster")
    assert code_of(lambda: mgmtd.call("GetRoutingInfo", other)) is Code.CLUSTER_MISMATCH
    register = mgmtd_pb2.RegisterNodeRequest(
        cluster_id="some-other-cluster", type=META, grpc_address="127.0.0.1:1"
    )
    assert code_of(lambda: mgmtd.call("RegisterNode", register)) is Code.CLUSTER_MISMATCH
    beat = mgmtd_pb2.HeartbeatRequest(cluster_id="some-other-cluster", node_id=1, incarnation=1)
    assert code_of(lambda: mgmtd.call("Heartbeat", beat)) is Code.CLUSTER_MISMATCH
