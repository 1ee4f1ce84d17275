"""Leases and restarts: write sessions renewed while open, EIO once renewal lapsed, and a
client that carries on through a meta, mgmtd or storage restart by reconnecting."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator

import pytest
from conftest import CHUNK, make_fs, pattern

from flyfs.client import FlyfsFileSystem, leases
from flyfs.cluster import LocalCluster
from tests.cluster.cluster_fixtures import start_cluster

LEASE_S = 2.0  # margin 1 s: a session is usable for 1 s after its last renewal


@pytest.fixture(scope="module")
def short_lease_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(
        tmp_path_factory.mktemp("lease-cluster"),
        meta_config={"session_lease_s": LEASE_S, "session_prune_margin_s": 0.5},
    )
    yield cluster
    cluster.down()


@pytest.fixture
def lease_fs(short_lease_cluster: LocalCluster) -> Iterator[FlyfsFileSystem]:
    fs = make_fs(short_lease_cluster)
    yield fs
    fs.close()


def test_sessions_are_renewed_while_files_are_open(lease_fs: FlyfsFileSystem) -> None:
    data = pattern(3 * CHUNK + 17)
    with lease_fs.open("/renewed", "wb") as f:
        f.write(data[:CHUNK])
        time.sleep(2 * LEASE_S)  # past lease + meta's prune margin: only renewal keeps it
        f.write(data[CHUNK:])
    assert lease_fs.cat_file("/renewed") == data


def test_a_lapsed_session_fails_with_eio(
    lease_fs: FlyfsFileSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stalled(self: leases.Leases) -> None:  # a writer whose renewals never get out
        return None

    monkeypatch.setattr(leases.Leases, "_renew_while_open", stalled)
    lease_fs.pipe_file("/kept", b"old")
    f = lease_fs.open("/kept", "wb")
    f.write(b"x" * 10)
    time.sleep(LEASE_S - leases.MIN_MARGIN_S + 0.2)
    with pytest.raises(OSError, match="not renewed") as lapsed:
        f.write(b"y" * CHUNK)  # completes a chunk: it would go to storage now
    assert lapsed.value.errno == errno.EIO
    with pytest.raises(OSError) as at_close:
        f.close()
    assert at_close.value.errno == errno.EIO
    assert lease_fs.cat_file("/kept") == b"old"


def test_survives_meta_restart(lease_fs: FlyfsFileSystem, short_lease_cluster) -> None:
    lease_fs.pipe_file("/before-meta", b"1")
    meta = short_lease_cluster.meta
    meta.stop()
    meta.spawn(detach=False)  # a new port: found again through mgmtd's routing
    meta.wait_ready()
    assert lease_fs.cat_file("/before-meta") == b"1"
    lease_fs.pipe_file("/after-meta", b"2")
    assert lease_fs.ls("/after-meta", detail=False) == ["/after-meta"]


def test_survives_mgmtd_restart(lease_fs: FlyfsFileSystem, short_lease_cluster) -> None:
    lease_fs.pipe_file("/before-mgmtd", b"1")
    short_lease_cluster.restart_mgmtd()
    lease_fs.pipe_file("/after-mgmtd", b"2")
    assert lease_fs.cat_file("/before-mgmtd") + lease_fs.cat_file("/after-mgmtd") == b"12"


def test_survives_storage_restart(lease_fs: FlyfsFileSystem, short_lease_cluster) -> None:
    data = pattern(4 * CHUNK + 5)
    lease_fs.pipe_file("/before-storage", data)
    short_lease_cluster.stop_node(0, kill=True)
    assert lease_fs.cat_file("/before-storage") == data  # the other replicas serve
    short_lease_cluster.start_node(0)  # on a new port
    short_lease_cluster.wait_serving()
    lease_fs.pipe_file("/after-storage", data)
    assert lease_fs.cat_file("/after-storage") == data
