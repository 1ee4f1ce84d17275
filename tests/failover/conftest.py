"""Failover tests: real clusters with a short lease, nodes killed with SIGKILL or frozen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flyfs.cluster import LocalCluster

# Short, so a dead node leaves its chains within seconds, yet several heartbeats
# long, so two busy cores do not fake a failure.
LEASE_S = 4.0
HEARTBEAT_S = 0.4


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    running = LocalCluster.up(
        tmp_path / "cluster",
        nodes=3,
        targets_per_node=2,
        replicas=3,
        heartbeat_s=HEARTBEAT_S,
        lease_s=LEASE_S,
        attached=True,
    )
    yield running
    running.down()
