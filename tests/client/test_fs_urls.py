"""Finding the filesystem and its cluster: the entry point, URLs, options, env, cluster files;
and the standard exceptions, with clear messages, for everything a user can get wrong."""

from __future__ import annotations

import pickle
import re
import socket

import fsspec
import pytest
from conftest import make_fs

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster


@pytest.fixture
def strict_fs(local_cluster: LocalCluster) -> FlyfsFileSystem:
    return make_fs(local_cluster, auto_mkdir=False)


def test_registered_under_the_flyfs_protocol(local_cluster: LocalCluster, base: str) -> None:
    address = local_cluster.mgmtd_address
    assert fsspec.get_filesystem_class("flyfs") is FlyfsFileSystem
    with fsspec.open(f"flyfs://{address}{base}/x.bin", "wb") as f:
        f.write(b"through a URL")
    with fsspec.open(f"flyfs://{address}{base}/x.bin") as f:
        assert f.read() == b"through a URL"
    fs, path = fsspec.url_to_fs(f"flyfs://{address}{base}/x.bin")
    assert isinstance(fs, FlyfsFileSystem) and path == f"{base}/x.bin"
    assert fs.cluster == address
    assert fs.unstrip_protocol(path) == f"flyfs://{address}{base}/x.bin"
    assert fs is fsspec.filesystem("flyfs", cluster=address)  # cached per cluster


def test_cluster_from_option_env_and_default_file(
    local_cluster: LocalCluster, base: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    address, cluster_file = local_cluster.mgmtd_address, str(local_cluster.cluster_file)
    by_file = fsspec.filesystem("flyfs", cluster=cluster_file)
    assert by_file is fsspec.filesystem("flyfs", cluster=address)  # the same cluster
    by_file.pipe_file(f"{base}/f", b"1")

    monkeypatch.setenv("FLYFS_HOME", str(tmp_path))  # no cluster file there
    monkeypatch.setenv("FLYFS_CLUSTER", cluster_file)
    with fsspec.open(f"flyfs://{base}/f") as f:  # flyfs:/// + the env's cluster
        assert f.read() == b"1"
    monkeypatch.setenv("FLYFS_CLUSTER", address)
    assert fsspec.filesystem("flyfs").cluster == address

    monkeypatch.delenv("FLYFS_CLUSTER")
    monkeypatch.setenv("FLYFS_HOME", str(local_cluster.directory))
    fs, path = fsspec.url_to_fs(f"flyfs:///{base}/f")
    assert (fs.cluster, path) == (address, f"{base}/f")
    assert fs.cat_file(path) == b"1"


def test_pickles_by_cluster_and_options(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    assert again.cluster == fs.cluster and again.storage_options == fs.storage_options
    assert again.cat_file(f"{base}/f") == b"pickled"


def test_unknown_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no cluster file"):
        fsspec.filesystem("flyfs", cluster=str(tmp_path / "nope.json"))
    monkeypatch.delenv("FLYFS_CLUSTER", raising=False)
    monkeypatch.setenv("FLYFS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="flyfs cluster up"):
        fsspec.filesystem("flyfs")


def test_wrong_port(local_cluster: LocalCluster) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]  # nothing listens: closed before use
    nobody = FlyfsFileSystem(
        cluster=f"127.0.0.1:{free}", connect_timeout_s=1.0, skip_instance_cache=True
    )
    with pytest.raises(ConnectionError, match=f"no flyfs mgmtd answers at 127.0.0.1:{free}"):
        nobody.ls("/")
    not_mgmtd = FlyfsFileSystem(
        cluster=local_cluster.meta_address, connect_timeout_s=1.0, skip_instance_cache=True
    )
    with pytest.raises(ConnectionError, match="no flyfs mgmtd answers"):
        not_mgmtd.ls("/")


def test_url_without_a_path_or_with_a_bad_host(local_cluster: LocalCluster) -> None:
    with (
        pytest.raises(IsADirectoryError, match="names no file"),
        fsspec.open(f"flyfs://{local_cluster.mgmtd_address}") as f,
    ):
        f.read()
    with pytest.raises(ValueError, match=re.escape("flyfs:///data/x.bin")):
        fsspec.open("flyfs://data/x.bin").open()


def test_reading_a_directory(fs: FlyfsFileSystem, base: str) -> None:
    fs.mkdir(f"{base}/d")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        fs.cat_file(f"{base}/d")
    with pytest.raises(IsADirectoryError):
        fs.open(f"{base}/d", "rb")
    with pytest.raises(IsADirectoryError):
        fs.read_into(f"{base}/d", 0, bytearray(4))
    with pytest.raises(IsADirectoryError):
        fs.cat_ranges([f"{base}/d"], [0], [1], on_error="raise")
    with pytest.raises(IsADirectoryError):
        fs.open(f"{base}/d", "wb")
    with pytest.raises(FileNotFoundError):
        fs.open(f"{base}/missing", "rb")


def test_missing_parent_with_auto_mkdir_off(strict_fs: FlyfsFileSystem, base: str) -> None:
    for write in (
        lambda: strict_fs.pipe_file(f"{base}/no/such/f", b"x"),
        lambda: strict_fs.open(f"{base}/no/such/f", "wb"),
        lambda: strict_fs.touch(f"{base}/no/f"),
    ):
        with pytest.raises(FileNotFoundError):
            write()
    strict_fs.pipe_file(f"{base}/f", b"x")
    with pytest.raises(FileNotFoundError):
        strict_fs.mv(f"{base}/f", f"{base}/no/g")
    assert not strict_fs.exists(f"{base}/no")


def test_parent_is_a_file(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/file", b"x")
    with pytest.raises(NotADirectoryError):
        fs.pipe_file(f"{base}/file/child", b"y")
    with pytest.raises(NotADirectoryError):
        fs.open(f"{base}/file/child", "wb")
    with pytest.raises(NotADirectoryError):
        fs.makedirs(f"{base}/file/d", exist_ok=True)
    assert fs.cat_file(f"{base}/file") == b"x"


@pytest.mark.parametrize("mode", ["r+b", "w+b", "rw", "z"])
def test_unknown_mode(fs: FlyfsFileSystem, base: str, mode: str) -> None:
    with pytest.raises(ValueError, match="use 'rb', 'wb', 'ab' or 'xb'"):
        fs.open(f"{base}/f", mode)
