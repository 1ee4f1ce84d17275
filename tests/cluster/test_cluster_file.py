"""Cluster files, cluster resolution, wiping and df's formatting: no processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyfs.cli.columns import human_bytes
from flyfs.cli.df import percent
from flyfs.cluster import wipe_directory
from flyfs.cluster_file import ClusterFile, Layout, ProcessRecord, resolve_cluster


def cluster_file(directory: Path, mgmtd: str = "127.0.0.1:7000") -> Path:
    # Start time -1 names no process: the record is of a stopped cluster.
    record = ProcessRecord("mgmtd", "mgmtd", 1, -1, {"grpc": 7000}, "m.log", "m.toml")
    path = directory / "cluster.json"
    ClusterFile("local-x", mgmtd, Layout(), [record]).save(path)
    return path


def test_cluster_file_round_trips(tmp_path: Path) -> None:
    loaded = ClusterFile.load(cluster_file(tmp_path))
    assert loaded.cluster_id == "local-x" and loaded.layout == Layout(3, 2, 3)
    assert loaded.process("mgmtd").address("grpc") == "127.0.0.1:7000"


def test_a_broken_cluster_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "cluster.json").write_text('{"cluster_id": "x"}')
    with pytest.raises(OSError, match="not a cluster file") as info:
        ClusterFile.load(tmp_path / "cluster.json")
    assert info.value.filename == str(tmp_path / "cluster.json")


def test_resolution_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cluster_file(home, "127.0.0.1:1111")
    other = cluster_file(tmp_path, "127.0.0.1:2222")
    env = {"FLYFS_HOME": str(home)}
    assert resolve_cluster(None, env) == "127.0.0.1:1111"  # the default cluster file
    assert resolve_cluster(None, {**env, "FLYFS_CLUSTER": str(other)}) == "127.0.0.1:2222"
    assert resolve_cluster(None, {**env, "FLYFS_CLUSTER": "10.0.0.1:7"}) == "10.0.0.1:7"
    assert resolve_cluster("localhost:9", {**env, "FLYFS_CLUSTER": "10.0.0.1:7"}) == "localhost:9"
    with pytest.raises(FileNotFoundError, match="flyfs cluster up"):
        resolve_cluster(None, {"FLYFS_HOME": str(tmp_path / "empty")})


def test_wipe_deletes_only_what_a_cluster_writes(tmp_path: Path) -> None:
    ours = [
        "cluster.json",
        "mgmtd.toml",
        "mgmtd.log",
        "meta.ready",
        "meta-kv.db",
        "meta-kv.db-wal",
        "storage-12.toml",
    ]
    for name in [*ours, "notes.txt", "meta.bak", "storage-x.toml"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "meta").mkdir()  # not a name a cluster uses for a directory
    (tmp_path / "storage-1" / "t1").mkdir(parents=True)
    (tmp_path / "storage-1" / "t1" / "chunk").write_text("x")
    (tmp_path / "cluster.json").unlink()
    cluster_file(tmp_path, "127.0.0.1:1")
    removed = {p.name for p in wipe_directory(tmp_path)}
    assert removed == {*ours, "storage-1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "meta",
        "meta.bak",
        "notes.txt",
        "storage-x.toml",
    ]


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (3 << 29, "1.5 GiB"),
        (1 << 60, "1024.0 PiB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


def test_percent() -> None:
    assert percent(1, 3) == "33.3%" and percent(5, 0) == "-"
