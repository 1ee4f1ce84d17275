"""Failover tests: real clusters with a short lease, nodes killed with SIGKILL or frozen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from workload import short_lease_cluster

from flyfs.cluster import LocalCluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    running = short_lease_cluster(tmp_path / "cluster")
    yield running
    running.down()
