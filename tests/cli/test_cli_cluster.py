"""The file commands against a real local cluster, through `flyfs.client.FlyfsFileSystem`.

One cluster for the module; each test works under a directory of its own.
Error cases run the console script in a subprocess, so the exit code and
the one stderr line are what a shell sees; the rest run in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from flyfs.cluster import LocalCluster
from tests.cluster.cluster_fixtures import local_cluster

__all__ = ["local_cluster"]

FLYFS = str(Path(sys.executable).with_name("flyfs"))


@pytest.fixture
def root(local_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh directory; the cluster is the default one (FLYFS_CLUSTER names its file)."""
    monkeypatch.setenv("FLYFS_CLUSTER", str(local_cluster.cluster_file))
    return f"/cli-{uuid.uuid4().hex[:8]}"


def shell(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLYFS, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_put_ls_cat_get_du_round_trip(flyfs, root: str, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    (dataset / "sub").mkdir(parents=True)
    big = os.urandom(5 * 1024 * 1024 + 123)  # more than one 4 MiB chunk
    (dataset / "big.bin").write_bytes(big)
    (dataset / "sub" / "note.txt").write_text("hello\n")

    assert flyfs("put", "-r", str(dataset), f"{root}/dataset") == (0, "", "")
    code, out, _ = flyfs("ls", "-R", f"{root}/dataset")
    assert (code, out.splitlines()) == (
        0,
        [f"{root}/dataset/big.bin", f"{root}/dataset/sub/", f"{root}/dataset/sub/note.txt"],
    )
    assert flyfs("cat", f"{root}/dataset/sub/note.txt") == (0, "hello\n", "")
    code, out, _ = flyfs("du", "-b", root)
    assert (code, out.split()) == (0, [str(len(big) + 6), root])

    assert flyfs("get", "-r", f"{root}/dataset", str(tmp_path / "back")) == (0, "", "")
    assert (tmp_path / "back" / "big.bin").read_bytes() == big
    assert (tmp_path / "back" / "sub" / "note.txt").read_text() == "hello\n"


def test_urls_and_the_cluster_option_name_the_cluster(
    flyfs, local_cluster: LocalCluster, root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYFS_CLUSTER")
    monkeypatch.setenv("FLYFS_HOME", "/nonexistent")  # no default cluster at all
    url = f"flyfs://{local_cluster.mgmtd_address}{root}"
    assert flyfs("mkdir", "-p", f"{url}/d") == (0, "", "")
    code, out, _ = flyfs("ls", "--cluster", str(local_cluster.cluster_file), root)
    assert (code, out) == (0, f"{root}/d/\n")
    code, out, _ = flyfs("stat", "--cluster", local_cluster.mgmtd_address, f"{root}/d")
    assert code == 0 and out.split()[:4] == ["name:", f"{root}/d", "type:", "directory"]
    assert "mode:" in out and "0o" in out


def test_mkdir_cp_mv_rm(flyfs, root: str) -> None:
    assert flyfs("mkdir", "-p", f"{root}/a/b")[0] == 0
    code, _, err = flyfs("mkdir", f"{root}/a")
    assert code == 1 and err.rstrip().endswith("(EEXIST)")
    code, _, err = flyfs("mkdir", f"{root}/missing/x")
    assert code == 1 and err.rstrip().endswith("(ENOENT)")

    from flyfs.cli.remote import filesystem

    fs = filesystem(None)
    fs.pipe(f"{root}/a/b/f.txt", b"data")
    assert flyfs("cp", "-r", f"{root}/a", f"{root}/copy")[0] == 0
    assert flyfs("mv", f"{root}/copy", f"{root}/moved")[0] == 0
    fs.invalidate_cache()
    assert fs.cat(f"{root}/moved/b/f.txt") == b"data"
    assert not fs.exists(f"{root}/copy")

    code, _, err = flyfs("rm", f"{root}/moved")
    assert code == 1 and err.rstrip().endswith("(EISDIR)")
    assert flyfs("rm", "-r", f"{root}/moved", f"{root}/a")[0] == 0
    assert flyfs("ls", root) == (0, "", "")


def test_missing_path_exits_1_with_one_enoent_line(root: str) -> None:
    result = shell("cat", f"{root}/nope")
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"flyfs: {root}/nope: ")
    assert result.stderr.rstrip().endswith("(ENOENT)")


def test_unreachable_cluster_exits_3_with_one_line() -> None:
    # Nothing listens on port 1: a user waits seconds, not the client's whole retry window.
    result = shell("ls", "--cluster", "127.0.0.1:1", "/", timeout_s=15)
    assert (result.returncode, result.stdout) == (3, "")
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("flyfs: ")


def test_no_cluster_file_exits_1_and_says_how_to_start_one(tmp_path: Path) -> None:
    result = shell("ls", "/", env={"FLYFS_CLUSTER": "", "FLYFS_HOME": str(tmp_path)})
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.splitlines()) == 1
    assert "flyfs cluster up" in result.stderr and result.stderr.rstrip().endswith("(ENOENT)")
