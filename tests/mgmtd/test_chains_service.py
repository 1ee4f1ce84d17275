"""CreateChains and SetTargetState against a real mgmtd with fake storage nodes."""

from __future__ import annotations

import pytest

from flyfs.chains import OFFLINE, SERVING, SYNCING
from flyfs.errors import Code, FlyfsError
from flyfs.routing import Routing


def three_nodes(caller) -> None:
    """Nodes 1, 2, 3 with targets 11, 12, 21, 22, 31, 32."""
    for node in (1, 2, 3):
        caller.register_storage(node, [node * 10 + 1, node * 10 + 2])


def test_create_chains_over_three_nodes_of_two_targets(fresh):
    three_nodes(fresh)
    before = fresh.routing().routing.routing_version
    made = fresh.create_chains(replicas=3)
    assert made.routing_version == before + 1
    assert (made.table.table_id, made.table.table_version, made.table.replicas) == (1, 1, 3)
    assert list(made.table.chain_ids) == [1, 2]
    routing = Routing(fresh.routing().routing)
    for chain_id in (1, 2):
        chain = routing.chain(chain_id)
        assert chain.chain_version == 1 and len(chain.target_ids) == 3
        assert len({routing.target(t).node_id for t in chain.target_ids}) == 3
        assert routing.serving(chain_id) == tuple(chain.target_ids)
        assert all(routing.target(t).chain_id == chain_id for t in chain.target_ids)
    heads = {routing.target(routing.head(c)).node_id for c in (1, 2)}
    assert len(heads) == 2
    assert routing.chain_table(1).chain_ids == (1, 2)


def test_dry_run_stores_nothing_and_a_second_run_finds_no_free_targets(fresh):
    three_nodes(fresh)
    version = fresh.routing().routing.routing_version
    dry = fresh.create_chains(dry_run=True)
    assert len(dry.chains) == 2 and dry.routing_version == version
    assert fresh.routing(known_version=version).unchanged
    real = fresh.create_chains()
    assert list(real.chains) == list(dry.chains)
    with pytest.raises(FlyfsError) as info:
        fresh.create_chains()
    assert info.value.code is Code.INVALID_ARGUMENT


def test_new_targets_grow_the_table_by_a_version(fresh):
    three_nodes(fresh)
    fresh.create_chains()
    for node in (1, 2, 3):
        fresh.register_storage(node, [node * 10 + 1, node * 10 + 2, node * 10 + 3])
    grown = fresh.create_chains()
    assert grown.table.table_version == 2 and list(grown.table.chain_ids) == [1, 2, 3]
    routing = Routing(fresh.routing().routing)
    assert routing.chain_table(1, 1).chain_ids == (1, 2)
    assert routing.chain_table(1).chain_ids == (1, 2, 3)


@pytest.mark.parametrize(
    "kwargs", [{"replicas": 4}, {"chain_count": 3}, {"target_ids": [11, 99]}, {"replicas": 2}]
)
def test_impossible_chains_are_invalid_argument(fresh, kwargs):
    three_nodes(fresh)
    if kwargs.get("replicas") == 2:  # a table keeps its replica count
        fresh.create_chains(target_ids=[11, 21, 31])
    with pytest.raises(FlyfsError) as info:
        fresh.create_chains(**kwargs)
    assert info.value.code is Code.INVALID_ARGUMENT
    assert fresh.routing().routing.cluster_id  # still serving


def test_set_target_state_reorders_and_bumps_versions(fresh):
    three_nodes(fresh)
    chain = fresh.create_chains().chains[0]
    head = chain.target_ids[0]
    version = fresh.routing().routing.routing_version
    down = fresh.set_state(head, OFFLINE)
    assert down.chain.chain_version == 2 and down.routing_version == version + 1
    assert list(down.chain.target_ids) == [*chain.target_ids[1:], head]
    again = fresh.set_state(head, OFFLINE)
    assert again.chain.chain_version == 2 and again.routing_version == version + 1
    syncing = fresh.set_state(head, SYNCING)
    routing = Routing(fresh.routing().routing)
    assert routing.state(head) == SYNCING and syncing.chain.chain_version == 3
    assert routing.predecessor(chain.chain_id, head) == chain.target_ids[2]
    fresh.set_state(head, SERVING)
    assert Routing(fresh.routing().routing).serving(chain.chain_id)[-1] == head


def test_set_target_state_refuses_unknown_targets_and_states(fresh):
    three_nodes(fresh)
    with pytest.raises(FlyfsError) as info:
        fresh.set_state(11, OFFLINE)  # in no chain yet
    assert info.value.code is Code.INVALID_ARGUMENT
    fresh.create_chains()
    for target, state in ((99, OFFLINE), (11, 0), (11, 77)):
        with pytest.raises(FlyfsError) as info:
            fresh.set_state(target, state)
        assert info.value.code is Code.INVALID_ARGUMENT
