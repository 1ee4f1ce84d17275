"""Chain policy as pure functions: how chains are built and how they change.

mgmtd stores and publishes chains; what a chain *should* look like is
decided here, over plain data, so the rules are tested by tables without a
server (3FS keeps its `generateNewChain` apart from the service the same way).

Two functions:

- :func:`build_chains` places registered targets into chains of `replicas`
  targets, never two of one chain on one node, each target in at most one
  chain (a target is one replica, as in 3FS), with heads spread over nodes.
- :func:`update_chain` is the chain-update rule (DESIGN.md, "Failure
  handling"): given a chain's members and what heartbeats say about each,
  the new members and whether the chain version must grow.
  :func:`force_state` is the admin override (`SetTargetState`).

A chain's members are always ordered SERVING (head to tail), SYNCING,
WAITING, LASTSRV, OFFLINE; writes enter at the first SERVING target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flyfs.errors import Code, error
from flyfs.proto import common_pb2, mgmtd_pb2

SERVING = common_pb2.TARGET_STATE_SERVING
SYNCING = common_pb2.TARGET_STATE_SYNCING
WAITING = common_pb2.TARGET_STATE_WAITING
LASTSRV = common_pb2.TARGET_STATE_LASTSRV
OFFLINE = common_pb2.TARGET_STATE_OFFLINE
PUBLIC_STATES = (SERVING, SYNCING, WAITING, LASTSRV, OFFLINE)

UPTODATE = mgmtd_pb2.LOCAL_TARGET_STATE_UPTODATE
ONLINE = mgmtd_pb2.LOCAL_TARGET_STATE_ONLINE
LOCAL_OFFLINE = mgmtd_pb2.LOCAL_TARGET_STATE_OFFLINE

# Position of each state's group in a chain's order.
_RANK = {SERVING: 0, SYNCING: 1, WAITING: 2, LASTSRV: 3, OFFLINE: 4}

Member = tuple[int, int]
"""(target id, public TargetState) of one chain member."""


# --- building chains ---------------------------------------------------------


def build_chains(
    targets: Sequence[tuple[int, int]],
    replicas: int = 3,
    chain_count: int = 0,
    first_chain_id: int = 1,
) -> list[tuple[int, tuple[int, ...]]]:
    """Chains `(chain_id, target ids head→tail)` over `targets` `(target_id, node_id)`.

    Each round takes one target (the lowest id left) from each of the
    `replicas` nodes with the most targets left, which yields the most chains
    the node constraint allows.  Within a chain, each position goes to the
    node that has held it least so far, so heads (where every write enters)
    rotate over nodes.  `chain_count` 0 means as many chains as possible.
    Deterministic: the same input gives the same chains.
    """
    if replicas < 1:
        raise error(Code.INVALID_ARGUMENT, f"replicas must be at least 1, not {replicas}")
    if chain_count < 0 or first_chain_id < 1:
        raise error(Code.INVALID_ARGUMENT, "chain_count must be ≥ 0 and first_chain_id ≥ 1")
    left: dict[int, list[int]] = {}
    seen: set[int] = set()
    for target_id, node_id in sorted(targets):
        if target_id in seen:
            raise error(Code.INVALID_ARGUMENT, f"target {target_id} is listed twice")
        seen.add(target_id)
        left.setdefault(node_id, []).append(target_id)
    if len(left) < replicas:
        raise error(
            Code.INVALID_ARGUMENT,
            f"{len(seen)} targets on {len(left)} nodes cannot form chains of {replicas}"
            " replicas (no two replicas of a chain may share a node)",
        )
    plan = _rounds(left, replicas)
    if chain_count == 0:
        chain_count = len(plan)
    elif chain_count > len(plan):
        raise error(
            Code.INVALID_ARGUMENT,
            f"asked for {chain_count} chains of {replicas}; these targets allow {len(plan)}",
        )
    held = {node: [0] * replicas for node in left}  # node -> times it held each position
    chains = []
    for offset, picked in enumerate(plan[:chain_count]):
        pool, ordered = dict(picked), []
        for position in range(replicas):
            node = min(pool, key=lambda n, p=position: (held[n][p], n))
            held[node][position] += 1
            ordered.append(pool.pop(node))
        chains.append((first_chain_id + offset, tuple(ordered)))
    return chains


def _rounds(left: dict[int, list[int]], replicas: int) -> list[list[tuple[int, int]]]:
    """Greedy rounds of (node, target) picks, most-loaded nodes first."""
    queues = {node: list(ids) for node, ids in left.items()}
    rounds = []
    while True:
        nodes = sorted((n for n in queues if queues[n]), key=lambda n: (-len(queues[n]), n))
        if len(nodes) < replicas:
            return rounds
        rounds.append([(n, queues[n].pop(0)) for n in nodes[:replicas]])


# --- the chain-update rule ---------------------------------------------------


@dataclass(frozen=True)
class TargetFacts:
    """What mgmtd knows of one target from heartbeats."""

    alive: bool  # its node's last heartbeat is within the lease
    local_state: int = UPTODATE  # mgmtd_pb2.LocalTargetState its node reports

    @property
    def up(self) -> bool:
        """Usable: the node is alive and the target's disk is not failed."""
        return self.alive and self.local_state != LOCAL_OFFLINE


_GONE = TargetFacts(alive=False, local_state=LOCAL_OFFLINE)


@dataclass(frozen=True)
class ChainUpdate:
    members: tuple[Member, ...]
    changed: bool  # order or a state changed: the chain version must grow


def update_chain(members: Sequence[Member], facts: Mapping[int, TargetFacts]) -> ChainUpdate:
    """One step of the chain-update rule; a target without facts counts as down.

    Each member moves at most one state per step (call again to go further):

    - SERVING, down → OFFLINE, moved to the end; but if no target of the
      chain serves after this step, the first of those that just stopped
      serving becomes LASTSRV instead, and the chain waits for it.
    - SYNCING, down → OFFLINE; up and UPTODATE (its resync finished) →
      SERVING, after the serving ones; up with no SERVING target left to
      sync from → WAITING.
    - WAITING, down → OFFLINE.  The first target that was WAITING when the
      step began becomes SYNCING if, after the step, nothing else of the
      chain is SYNCING and something serves (one resync per chain).
    - LASTSRV, up → SERVING (it holds every committed write).
    - OFFLINE, up → WAITING, whatever local state it reports: it may have
      missed writes while it was out (a restarted node always resyncs).

    Within a state's group, members keep their order and the ones that just
    entered it go last.
    """
    old = tuple(members)
    new: dict[int, int] = {}
    for target_id, state in old:
        f = facts.get(target_id, _GONE)
        if state == SERVING:
            new[target_id] = SERVING if f.up else OFFLINE
        elif state == SYNCING:
            done = f.local_state == UPTODATE
            new[target_id] = (SERVING if done else SYNCING) if f.up else OFFLINE
        elif state in (WAITING, OFFLINE):
            new[target_id] = WAITING if f.up else OFFLINE
        elif state == LASTSRV:
            new[target_id] = SERVING if f.up else LASTSRV
        else:
            raise error(Code.INVALID_ARGUMENT, f"target {target_id} has no public state")
    serving = SERVING in new.values()
    lost = [t for t, s in old if s == SERVING and new[t] == OFFLINE]
    if lost and not serving:
        new[lost[0]] = LASTSRV
    if not serving:
        new.update({t: WAITING for t, s in new.items() if s == SYNCING})
    if serving and SYNCING not in new.values():
        waiting = [t for t, s in old if s == WAITING and new[t] == WAITING]
        if waiting:
            new[waiting[0]] = SYNCING
    return _ordered(old, new)


def force_state(members: Sequence[Member], target_id: int, state: int) -> ChainUpdate:
    """`target_id` put in `state` by an operator, the chain reordered to match."""
    if state not in PUBLIC_STATES:
        raise error(Code.INVALID_ARGUMENT, f"{state} is not a target state")
    old = tuple(members)
    new = dict(old)
    if target_id not in new:
        raise error(Code.INVALID_ARGUMENT, f"target {target_id} is not in this chain")
    new[target_id] = state
    return _ordered(old, new)


def _ordered(old: tuple[Member, ...], new: Mapping[int, int]) -> ChainUpdate:
    position = {target_id: i for i, (target_id, _) in enumerate(old)}
    states = dict(old)

    def key(target_id: int) -> tuple[int, bool, int]:
        state = new[target_id]
        return _RANK[state], state != states[target_id], position[target_id]

    members = tuple((t, new[t]) for t in sorted(new, key=key))
    return ChainUpdate(members, members != old)
