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


def short_lease_cluster(directory: Path, **storage_config: object) -> LocalCluster:
    """3 storage nodes x 2 targets, chains of 3, the short lease; `storage_config` overrides."""
    return LocalCluster.up(
        directory,
        nodes=3,
        targets_per_node=2,
        replicas=3,
        heartbeat_s=HEARTBEAT_S,
        lease_s=LEASE_S,
        attached=True,
        storage_config=storage_config,
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    running = short_lease_cluster(tmp_path / "cluster")
    yield running
    running.down()
