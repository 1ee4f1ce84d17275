"""KV-cache store tests: one real local cluster per module (tests/cluster/cluster_fixtures)."""

from __future__ import annotations

from tests.cluster.cluster_fixtures import local_cluster  # noqa: F401
