"""One local cluster per test module, one filesystem on it, a fresh directory per test.

Files are made with 64 KiB chunks (the smallest flyfs allows), so sizes
around and across chunk boundaries stay small and the tests fast.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster
from tests.cluster.cluster_fixtures import local_cluster

__all__ = ["local_cluster"]

CHUNK = 64 << 10
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17]


def make_fs(cluster: LocalCluster, **options: object) -> FlyfsFileSystem:
    options.setdefault("chunk_size", CHUNK)
    return FlyfsFileSystem(cluster=cluster.mgmtd_address, skip_instance_cache=True, **options)


@pytest.fixture(scope="module")
def fs(local_cluster: LocalCluster) -> Iterator[FlyfsFileSystem]:
    filesystem = make_fs(local_cluster)
    yield filesystem
    filesystem.close()


@pytest.fixture
def base(fs: FlyfsFileSystem) -> str:
    """This test's own directory: tests share the cluster, never each other's files."""
    path = f"/t-{uuid.uuid4().hex[:12]}"
    fs.mkdir(path)
    return path


def pattern(size: int, seed: int = 0) -> bytes:
    """Reproducible random bytes: a misplaced or zero-filled chunk never matches."""
    return random.Random(seed).randbytes(size)
