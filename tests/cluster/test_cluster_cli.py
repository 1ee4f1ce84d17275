"""`flyfs cluster up|status|down` and `flyfs df` as a user runs them: real detached processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import kill_leftovers, processes_naming

from flyfs.cli.df import TARGET_HEADERS
from flyfs.cli.main import ExitCode, main
from flyfs.cluster import stop_cluster
from flyfs.cluster_file import ClusterFile, Layout, ProcessRecord
from flyfs.process import process_start_time

NAMES = {"mgmtd", "meta", "storage-1", "storage-2", "storage-3"}


def flyfs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flyfs.cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env=env,
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$FLYFS_HOME for this test, so nothing touches ~/.flyfs."""
    path = tmp_path / "home"
    monkeypatch.setenv("FLYFS_HOME", str(path))
    monkeypatch.delenv("FLYFS_CLUSTER", raising=False)
    return path


@pytest.fixture
def cluster_dir(tmp_path: Path, home: Path) -> Iterator[Path]:
    """A cluster directory; whatever a test leaves running there is stopped, and fails it."""
    directory = tmp_path / "cluster"
    yield directory
    stop_cluster(directory)
    assert kill_leftovers(directory) == []


def test_up_status_df_down(cluster_dir: Path) -> None:
    up = flyfs("cluster", "up", "--dir", str(cluster_dir), "--lease-s", "30")
    assert up.returncode == 0, up.stderr
    cluster_file = cluster_dir / "cluster.json"
    assert f"export FLYFS_CLUSTER={cluster_file}\n" in up.stdout
    assert "creating chains of 3 replicas" in up.stderr  # progress, on stderr

    raw = json.loads(cluster_file.read_text())
    assert raw["format"] == 1
    assert raw["layout"] == {"nodes": 3, "targets_per_node": 2, "replicas": 3}
    assert raw["cluster_id"].startswith("local-")
    records = {p["name"]: ProcessRecord(**p) for p in raw["processes"]}
    assert records.keys() == NAMES
    for record in records.values():
        assert process_start_time(record.pid) == record.start_time  # detached, still running
        assert Path(record.log).is_file() and Path(record.config).is_file()
    assert raw["mgmtd"] == records["mgmtd"].address("grpc")
    assert set(records["storage-2"].ports) == {"data"}

    again = flyfs("cluster", "up", "--dir", str(cluster_dir))
    assert again.returncode == ExitCode.FAILED
    assert "a cluster is running here" in again.stderr

    status = flyfs("cluster", "status", "--dir", str(cluster_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "5/5 processes running, 2/2 chains serving" in status.stdout

    env = dict(os.environ, FLYFS_CLUSTER=str(cluster_file))
    df = flyfs("df", env=env)
    assert df.returncode == 0, df.stderr
    lines = df.stdout.splitlines()
    assert lines[0].split() == list(TARGET_HEADERS)
    targets = [line.split() for line in lines[1:7]]
    assert [row[1] for row in targets] == ["101", "102", "201", "202", "301", "302"]
    assert all(row[3] == "SERVING" for row in targets)
    assert "6 targets on 3 nodes, 2/2 chains serving" in df.stdout
    by_address = flyfs("df", "--cluster", raw["mgmtd"])
    assert by_address.returncode == 0 and by_address.stdout.splitlines()[:7] == lines[:7]

    down = flyfs("cluster", "down", "--dir", str(cluster_dir))
    assert down.returncode == 0, down.stderr
    assert down.stdout.count("stopped ") == 5
    assert processes_naming(cluster_dir) == []
    assert flyfs("cluster", "status", "--dir", str(cluster_dir)).returncode == ExitCode.UNREACHABLE
    assert flyfs("df", env=env).returncode == ExitCode.UNREACHABLE

    again = flyfs("cluster", "down", "--dir", str(cluster_dir))  # idempotent
    assert again.returncode == 0 and again.stdout.count("was not running") == 5
    wipe = flyfs("cluster", "down", "--wipe", "--dir", str(cluster_dir))
    assert wipe.returncode == 0, wipe.stderr
    assert list(cluster_dir.iterdir()) == []


def test_up_refuses_fewer_nodes_than_replicas(cluster_dir: Path, capsys) -> None:
    code = main(["cluster", "up", "--dir", str(cluster_dir), "--nodes", "2", "--replicas", "3"])
    assert code == ExitCode.FAILED
    err = capsys.readouterr().err
    assert "chains of 3 replicas need at least 3 storage nodes" in err and "got 2" in err
    assert not (cluster_dir / "cluster.json").exists()
    assert processes_naming(cluster_dir) == []


def test_down_without_a_cluster_is_clean(cluster_dir: Path, capsys) -> None:
    assert main(["cluster", "down", "--dir", str(cluster_dir)]) == ExitCode.OK
    assert "nothing to stop" in capsys.readouterr().out
    assert main(["cluster", "status", "--dir", str(cluster_dir)]) == ExitCode.FAILED
    assert "no cluster file" in capsys.readouterr().err


def test_stale_cluster_file_never_signals_a_reused_pid(cluster_dir: Path, capsys) -> None:
    # A cluster file left by a crash whose pids now name other programs.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start_time = process_start_time(bystander.pid)
        assert start_time is not None
        record = ProcessRecord(
            "storage-1", "storage", bystander.pid, start_time - 1, {"data": 1}, "x.log", "x.toml"
        )
        cluster_dir.mkdir(parents=True)
        ClusterFile("local-stale", "127.0.0.1:1", Layout(1, 1, 1), [record]).save(
            cluster_dir / "cluster.json"
        )
        assert main(["cluster", "status", "--dir", str(cluster_dir)]) == ExitCode.UNREACHABLE
        assert "not running" in capsys.readouterr().out
        assert main(["cluster", "down", "--dir", str(cluster_dir)]) == ExitCode.OK
        assert f"was not running: storage-1 (pid {bystander.pid})" in capsys.readouterr().out
        assert bystander.poll() is None  # never signalled
    finally:
        bystander.kill()
        bystander.wait()


def test_foreground_cluster_stops_on_sigterm(cluster_dir: Path) -> None:
    argv = ["cluster", "up", "--foreground", "--dir", str(cluster_dir), "--lease-s", "30"]
    layout = ["--nodes", "1", "--targets-per-node", "1", "--replicas", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "flyfs.cli", *argv, *layout],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:
            if "running in the foreground" in line:
                break
        records = ClusterFile.load(cluster_dir / "cluster.json").processes
        assert len(records) == 3 and all(r.alive() for r in records)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == ExitCode.OK
        assert not any(r.alive() for r in records)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_kill_and_start_a_storage_node(cluster_dir: Path) -> None:
    args = ("--dir", str(cluster_dir))
    up = flyfs("cluster", "up", *args, "--lease-s", "3", "--heartbeat-s", "0.3")
    assert up.returncode == 0, up.stderr
    try:
        killed = flyfs("cluster", "kill", "2", *args)
        assert killed.returncode == 0, killed.stderr
        assert "sent SIGKILL to storage-2" in killed.stdout
        again = flyfs("cluster", "kill", "storage-2", *args)
        assert again.returncode != 0 and "is not running" in again.stderr
        assert flyfs("cluster", "kill", "mgmtd", *args).returncode != 0
        status = flyfs("cluster", "status", *args)
        assert status.returncode == ExitCode.FAILED
        assert "4/5 processes running" in status.stdout
        deadline = time.monotonic() + 30
        while "OFFLINE" not in flyfs("cluster", "status", *args).stdout:  # bounded
            assert time.monotonic() < deadline, "node 2's targets never went OFFLINE"
            time.sleep(0.3)
        started = flyfs("cluster", "start", "2", *args)
        assert started.returncode == 0, started.stderr
        assert "started storage-2" in started.stdout
        busy = flyfs("cluster", "start", "2", *args)
        assert busy.returncode != 0 and "is running" in busy.stderr
        deadline = time.monotonic() + 60
        while True:  # bounded: WAITING, SYNCING, then SERVING
            status = flyfs("cluster", "status", *args)
            if status.returncode == 0:
                break
            assert time.monotonic() < deadline, status.stdout
            time.sleep(0.3)
        assert "5/5 processes running, 2/2 chains serving" in status.stdout
        assert "RESYNC" in status.stdout
    finally:
        assert flyfs("cluster", "down", *args).returncode == 0
    assert processes_naming(cluster_dir) == []
