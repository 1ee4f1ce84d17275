"""Chain policy: building chains, and the chain-update rule, table by table."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flyfs.chains import (
    LASTSRV,
    LOCAL_OFFLINE,
    OFFLINE,
    ONLINE,
    SERVING,
    SYNCING,
    UPTODATE,
    WAITING,
    TargetFacts,
    build_chains,
    force_state,
    update_chain,
)
from flyfs.errors import Code, FlyfsError

# --- build_chains ------------------------------------------------------------


def grid(nodes: int, per_node: int) -> list[tuple[int, int]]:
    """Targets 1.. numbered node by node: node n holds n*10+1, n*10+2, ..."""
    return [(n * 10 + k, n) for n in range(1, nodes + 1) for k in range(1, per_node + 1)]


def test_three_nodes_two_targets_each_make_two_chains_of_three():
    chains = build_chains(grid(3, 2), replicas=3)
    assert chains == [(1, (11, 21, 31)), (2, (22, 12, 32))]


@pytest.mark.parametrize(
    ("nodes", "per_node", "replicas"), [(3, 2, 3), (5, 4, 3), (4, 6, 2), (7, 3, 3), (3, 5, 1)]
)
def test_chains_use_every_target_once_and_never_share_a_node(nodes, per_node, replicas):
    targets = grid(nodes, per_node)
    node_of = dict(targets)
    chains = build_chains(targets, replicas=replicas)
    assert len(chains) == nodes * per_node // replicas
    used = [t for _, members in chains for t in members]
    assert len(used) == len(set(used))
    for _, members in chains:
        assert len(members) == replicas
        assert len({node_of[t] for t in members}) == replicas


@pytest.mark.parametrize(("nodes", "per_node"), [(3, 2), (3, 3), (4, 3), (5, 6)])
def test_heads_are_spread_over_nodes(nodes, per_node):
    targets = grid(nodes, per_node)
    node_of = dict(targets)
    heads = Counter(node_of[members[0]] for _, members in build_chains(targets))
    assert max(heads.values()) - min(heads.get(n, 0) for n in range(1, nodes + 1)) <= 1


def test_uneven_nodes_still_yield_the_most_chains():
    # 4 targets on node 1, one each on nodes 2..5: node 1 is in every chain.
    targets = [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (6, 3), (7, 4), (8, 5)]
    chains = build_chains(targets, replicas=2)
    assert len(chains) == 4
    assert all(sum(t <= 4 for t in members) == 1 for _, members in chains)


def test_chain_count_and_first_chain_id():
    chains = build_chains(grid(3, 4), replicas=3, chain_count=2, first_chain_id=7)
    assert [chain_id for chain_id, _ in chains] == [7, 8]


def test_the_same_input_in_another_order_gives_the_same_chains():
    targets = grid(4, 3)
    assert build_chains(targets) == build_chains(list(reversed(targets)))


@pytest.mark.parametrize(
    ("targets", "kwargs", "words"),
    [
        (grid(2, 3), {"replicas": 3}, "2 nodes"),
        ([], {}, "0 targets"),
        (grid(3, 1), {"chain_count": 2}, "allow 1"),
        (grid(3, 1), {"replicas": 0}, "at least 1"),
        ([(1, 1), (1, 2), (2, 3)], {}, "twice"),
        (grid(3, 1), {"first_chain_id": 0}, "first_chain_id"),
    ],
)
def test_impossible_requests_are_invalid_argument(targets, kwargs, words):
    with pytest.raises(FlyfsError) as info:
        build_chains(targets, **kwargs)
    assert info.value.code is Code.INVALID_ARGUMENT and words in str(info.value)


@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=40),
    st.integers(1, 4),
)
def test_random_placements_respect_every_constraint(node_of_each, replicas):
    targets = [(i + 1, node) for i, node in enumerate(node_of_each)]
    try:
        chains = build_chains(targets, replicas=replicas)
    except FlyfsError as exc:
        assert exc.code is Code.INVALID_ARGUMENT
        assert len(set(node_of_each)) < replicas
        return
    node_of = dict(targets)
    used = [t for _, members in chains for t in members]
    assert len(used) == len(set(used))
    assert all(len({node_of[t] for t in m}) == replicas for _, m in chains)
    # The most chains possible: no further chain fits the leftovers.
    left = Counter(node_of[t] for t in node_of if t not in set(used))
    assert len(left) < replicas


# --- the chain-update rule ---------------------------------------------------

UP = TargetFacts(alive=True, local_state=UPTODATE)
ONL = TargetFacts(alive=True, local_state=ONLINE)
DOWN = TargetFacts(alive=False, local_state=UPTODATE)
DISK = TargetFacts(alive=True, local_state=LOCAL_OFFLINE)  # node alive, disk failed

S, Y, W, L, X = SERVING, SYNCING, WAITING, LASTSRV, OFFLINE

# A chain is written "1S 2S 3X": target id then state letter, head first.
# Facts, one per target in the same order: u = node alive, target UPTODATE;
# o = alive, ONLINE; d = node down (missed its lease); f = alive, disk failed.
LETTERS = {"S": S, "Y": Y, "W": W, "L": L, "X": X}
FACTS = {"u": UP, "o": ONL, "d": DOWN, "f": DISK}

# (why, chain before, facts, chain after)
TRANSITIONS = [
    ("all up: nothing changes", "1S 2S 3S", "u u u", "1S 2S 3S"),
    ("head down: OFFLINE at the end", "1S 2S 3S", "d u u", "2S 3S 1X"),
    ("middle down", "1S 2S 3S", "u d u", "1S 3S 2X"),
    ("failed disk counts as down", "1S 2S 3S", "u u f", "1S 2S 3X"),
    ("two down at once keep their order", "1S 2S 3S", "d d u", "3S 1X 2X"),
    ("newly OFFLINE goes after the old ones", "1S 2S 3X", "d u d", "2S 3X 1X"),
    ("last serving down: LASTSRV", "1S 2X 3X", "d d d", "1L 2X 3X"),
    ("all serving down at once: the first is LASTSRV", "1S 2S 3X", "d d d", "1L 3X 2X"),
    ("LASTSRV still down: the chain waits", "1L 2X", "d u", "2W 1L"),
    ("LASTSRV back: SERVING", "1L 2X 3X", "u d d", "1S 2X 3X"),
    ("OFFLINE back ONLINE: WAITING", "1S 2S 3X", "u u o", "1S 2S 3W"),
    ("OFFLINE back claiming UPTODATE: still WAITING", "1S 2X", "u u", "1S 2W"),
    ("OFFLINE still down", "1S 2X", "u d", "1S 2X"),
    ("WAITING to SYNCING when none syncs", "1S 2S 3W", "u u o", "1S 2S 3Y"),
    ("one SYNCING at a time", "1S 2Y 3W", "u o o", "1S 2Y 3W"),
    ("first WAITING syncs first", "1S 2W 3W", "u o o", "1S 2Y 3W"),
    ("WAITING stays without a serving target", "1L 2W", "d o", "2W 1L"),
    ("WAITING down: OFFLINE", "1S 2W", "u d", "1S 2X"),
    ("SYNCING done: SERVING after the serving ones", "1S 2S 3Y", "u u u", "1S 2S 3S"),
    ("SYNCING done frees the slot for the next step", "1S 2Y 3W", "u u o", "1S 2S 3Y"),
    ("SYNCING not done yet", "1S 2Y", "u o", "1S 2Y"),
    ("SYNCING down: OFFLINE, next WAITING syncs", "1S 2Y 3W", "u d o", "1S 3Y 2X"),
    ("SYNCING loses its source: WAITING", "1S 2Y", "d o", "2W 1L"),
    ("SYNCING finishing as the head dies serves", "1S 2Y", "d u", "2S 1X"),
]


def chain(text: str) -> list[tuple[int, int]]:
    return [(int(m[:-1]), LETTERS[m[-1]]) for m in text.split()]


@pytest.mark.parametrize(
    ("before", "facts", "after"),
    [pytest.param(b, f, a, id=why) for why, b, f, a in TRANSITIONS],
)
def test_chain_update_rule(before, facts, after):
    members = chain(before)
    known = {t: FACTS[f] for (t, _), f in zip(members, facts.split(), strict=True)}
    update = update_chain(members, known)
    assert list(update.members) == chain(after)
    assert update.changed is (after != before)


def test_a_target_without_facts_counts_as_down():
    assert update_chain([(1, S), (2, S)], {1: UP}).members == ((1, S), (2, X))


def test_every_state_and_fact_combination_keeps_the_order_invariant():
    states, options = [S, Y, W, L, X], [UP, ONL, DOWN, DISK]
    for chain_states in itertools.product(states, repeat=3):
        members = list(enumerate(chain_states, start=1))
        for facts in itertools.product(options, repeat=3):
            result = update_chain(members, dict(enumerate(facts, start=1))).members
            ranks = [[S, Y, W, L, X].index(s) for _, s in result]
            assert ranks == sorted(ranks), (members, facts, result)
            assert sum(s == Y for _, s in result) <= max(1, sum(s == Y for _, s in members))


def test_repeated_steps_bring_a_returning_target_back_to_serving():
    members = [(1, S), (2, S), (3, X)]
    facts = {1: UP, 2: UP, 3: ONL}
    seen = []
    for _ in range(5):
        members = list(update_chain(members, facts).members)
        seen.append(dict(members)[3])
        if seen[-1] == Y:
            facts[3] = UP  # its predecessor sent SyncDone
    assert seen[:4] == [W, Y, S, S]
    assert members == [(1, S), (2, S), (3, S)]


@pytest.mark.parametrize(
    ("target", "state", "after"),
    [
        (1, X, [(2, S), (3, S), (1, X)]),
        (3, S, [(1, S), (2, S), (3, S)]),
        (2, Y, [(1, S), (3, S), (2, Y)]),
        (1, L, [(2, S), (3, S), (1, L)]),
    ],
)
def test_forced_states_reorder_the_chain(target, state, after):
    update = force_state([(1, S), (2, S), (3, S)], target, state)
    assert list(update.members) == after
    assert update.changed is (after != [(1, S), (2, S), (3, S)])


@pytest.mark.parametrize(("target", "state"), [(9, X), (1, 0), (1, 42)])
def test_forcing_an_unknown_target_or_state_is_invalid(target, state):
    with pytest.raises(FlyfsError) as info:
        force_state([(1, S)], target, state)
    assert info.value.code is Code.INVALID_ARGUMENT
