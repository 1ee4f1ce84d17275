"""A running local cluster for tests: real processes on 127.0.0.1, dying with the test run.

`local_cluster` starts one cluster per test module (3 storage nodes x 2
targets, chains of 3); tests share it and keep their state apart (their own
paths).  A test folder other than this one imports the fixture::

    from tests.cluster.cluster_fixtures import local_cluster  # noqa: F401

(`python -m pytest` from the repository root, as `make test` runs it, puts
the root on sys.path), or calls :func:`start_cluster` from a fixture of its
own for another layout or config overrides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flyfs.cluster import LocalCluster

LEASE_S = 30.0  # tests not about failure: two busy cores must never fake one (DESIGN.md)


def start_cluster(directory: Path, **options: Any) -> LocalCluster:
    """`LocalCluster.up` attached to this process, with the long test lease by default."""
    options.setdefault("lease_s", LEASE_S)
    return LocalCluster.up(directory, attached=True, **options)


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.down()
