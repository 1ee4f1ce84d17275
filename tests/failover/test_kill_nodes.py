"""Kill -9 the node holding heads, then middles, then tails, under load: nothing acknowledged
is lost, no read is torn, and every node resyncs to byte-identical replicas."""

from __future__ import annotations

import time

from workload import (
    LEASE_S,
    Load,
    all_serving,
    compare_replicas,
    filesystem,
    target_dirs,
    wait_for,
)

from flyfs.chains import SERVING
from flyfs.cluster import LocalCluster


def _roles(cluster: LocalCluster) -> dict[int, list[str]]:
    """Per node index, the roles its targets play: head, middle, tail."""
    routing = cluster.routing()
    roles: dict[int, list[str]] = {}
    for chain in routing.info.chains:
        for position, target in enumerate(chain.target_ids):
            role = ("head", "middle", "tail")[position]
            roles.setdefault(routing.target(target).node_id - 1, []).append(role)
    return roles


def _node_with(cluster: LocalCluster, role: str, skip: set[int]) -> int:
    """A node not killed yet that plays `role` in some chain (chains reorder as nodes
    come back: if none does, any node not killed yet)."""
    roles = _roles(cluster)
    left = [n for n in sorted(roles) if n not in skip]
    return next((n for n in left if role in roles[n]), left[0])


def test_kill_head_middle_tail_under_load(cluster: LocalCluster) -> None:
    fs = filesystem(cluster)
    load = Load(fs, "/load").start()
    stalls = []
    killed: set[int] = set()
    try:
        load.wait_acked(3)
        for role in ("head", "middle", "tail"):
            node = _node_with(cluster, role, killed)
            killed.add(node)
            dead = set(cluster.storage[node].config.target_ids)
            at = time.monotonic()
            cluster.stop_node(node, kill=True)

            def gone(dead: set[int] = dead) -> bool:
                routing = cluster.routing()
                return all(routing.state(t) != SERVING for t in dead)

            wait_for(gone, LEASE_S * 4, f"node {node + 1}'s targets to leave their chains")
            load.wait_acked(2, timeout_s=60)
            resumed = load.resumed_after(at)
            assert resumed is not None and resumed < 60
            stalls.append(load.longest_pause(at))
            cluster.start_node(node)
            wait_for(lambda: all_serving(cluster), 90, "every chain to serve again")
            load.wait_acked(1)
    finally:
        load.finish()
    print(
        f"writes resumed after {', '.join(f'{s:.1f} s' for s in stalls)};"
        f" {len(load.acked)} files, {load.reads} reads"
    )
    assert load.torn == [] and load.errors == []
    assert load.verify_all() == []
    routing = cluster.routing()
    cluster.down()
    checked, problems = compare_replicas(routing, target_dirs(cluster))
    assert checked > 0 and problems == []
