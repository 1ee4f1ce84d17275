"""The Routing view over a hand-built RoutingInfo (no server)."""

from __future__ import annotations

import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.layout import ChainTable
from flyfs.proto import common_pb2, mgmtd_pb2
from flyfs.routing import Routing, RoutingTables, split_address

S, Y, X = (
    common_pb2.TARGET_STATE_SERVING,
    common_pb2.TARGET_STATE_SYNCING,
    common_pb2.TARGET_STATE_OFFLINE,
)
ACTIVE, GONE = mgmtd_pb2.NODE_STATUS_ACTIVE, mgmtd_pb2.NODE_STATUS_OFFLINE
META, STORAGE = common_pb2.NODE_TYPE_META, common_pb2.NODE_TYPE_STORAGE


def make_info() -> mgmtd_pb2.RoutingInfo:
    """Chain 1: 11 (S) → 21 (S) → 31 (S); chain 2: 22 (S) → 32 (Y) → 12 (X)."""
    info = mgmtd_pb2.RoutingInfo(routing_version=7, cluster_id="c1")
    info.nodes.add(node_id=9, type=META, grpc_address="127.0.0.1:9009", status=ACTIVE)
    info.nodes.add(node_id=8, type=META, grpc_address="127.0.0.1:9008", status=GONE)
    info.nodes.add(node_id=5, type=META, grpc_address="127.0.0.1:9005", status=ACTIVE)
    for n in (1, 2, 3):
        info.nodes.add(node_id=n, type=STORAGE, data_address=f"127.0.0.1:700{n}", status=ACTIVE)
    states = {11: S, 21: S, 31: S, 22: S, 32: Y, 12: X}
    for target_id, state in states.items():
        chain = 1 if target_id in (11, 21, 31) else 2
        info.targets.add(
            target_id=target_id, node_id=target_id // 10, chain_id=chain, public_state=state
        )
    info.chains.add(chain_id=1, chain_version=3, target_ids=[11, 21, 31])
    info.chains.add(chain_id=2, chain_version=5, target_ids=[22, 32, 12])
    info.chain_tables.add(table_id=1, table_version=1, replicas=3, chain_ids=[1])
    info.chain_tables.add(table_id=1, table_version=2, replicas=3, chain_ids=[1, 2])
    return info


@pytest.fixture
def routing() -> Routing:
    return Routing(make_info())


def code_of(call) -> Code:
    with pytest.raises(FlyfsError) as info:
        call()
    return info.value.code


def test_version_and_lookups(routing):
    assert (routing.version, routing.cluster_id) == (7, "c1")
    assert routing.chain(2).chain_version == 5
    assert routing.target(32).node_id == 3
    assert routing.node(2).data_address == "127.0.0.1:7002"
    assert routing.state(12) == X


def test_unknown_ids_are_errors(routing):
    assert code_of(lambda: routing.chain(99)) is Code.CHAIN_UNAVAILABLE
    assert code_of(lambda: routing.target(99)) is Code.ROUTING_STALE
    assert code_of(lambda: routing.node(99)) is Code.ROUTING_STALE


def test_serving_head_and_neighbours(routing):
    assert routing.serving(1) == (11, 21, 31)
    assert routing.serving(2) == (22,)
    assert routing.head(1) == 11 and routing.head(2) == 22
    assert [routing.successor(1, t) for t in (11, 21, 31)] == [21, 31, None]
    assert [routing.predecessor(1, t) for t in (11, 21, 31)] == [None, 11, 21]
    # A syncing target's predecessor is the serving tail that pushes its resync.
    assert routing.predecessor(2, 32) == 22
    assert routing.successor(2, 22) is None
    assert code_of(lambda: routing.successor(1, 22)) is Code.ROUTING_STALE


def test_a_chain_with_nothing_serving_has_no_head():
    info = make_info()
    for target in info.targets:
        if target.chain_id == 2:
            target.public_state = X
    assert code_of(lambda: Routing(info).head(2)) is Code.CHAIN_UNAVAILABLE


def test_versioned_and_addresses(routing):
    assert routing.versioned(2) == common_pb2.VersionedChainId(chain_id=2, chain_version=5)
    assert routing.data_address(21) == ("127.0.0.1", 7002)
    assert [t.target_id for t in routing.targets_of_node(1)] == [11, 12]
    assert routing.meta_addresses() == ["127.0.0.1:9005", "127.0.0.1:9009"]


def test_chain_tables_newest_and_pinned(routing):
    assert routing.chain_table(1) == ChainTable(1, 2, (1, 2))
    assert routing.chain_table(1, 1) == ChainTable(1, 1, (1,))
    assert code_of(lambda: routing.chain_table(1, 3)) is Code.CHAIN_UNAVAILABLE
    assert code_of(lambda: routing.chain_table(2)) is Code.CHAIN_UNAVAILABLE


def test_routing_tables_follow_the_newest_routing(routing):
    latest = [Routing(mgmtd_pb2.RoutingInfo(routing_version=1))]
    tables = RoutingTables(lambda: latest[0])
    assert code_of(tables.current) is Code.CHAIN_UNAVAILABLE
    latest[0] = routing
    assert tables.current() == ChainTable(1, 2, (1, 2))
    assert tables.get(1, 1).chain_ids == (1,)


@pytest.mark.parametrize("bad", ["nowhere", ":70", "host:", "host:0", "host:99999", "h:x"])
def test_split_address_refuses_non_addresses(bad):
    assert code_of(lambda: split_address(bad)) is Code.INVALID_ARGUMENT
