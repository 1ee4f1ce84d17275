"""The file commands' behaviour, output and exit codes, against an in-memory filesystem."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from flyfs.cli import remote


@pytest.fixture
def tree(memfs):
    """/data/a.bin (3000 B), /data/b.bin (5 B), /data/sub/c.txt (5 B), /empty/."""
    memfs.pipe("/data/a.bin", b"x" * 3000)
    memfs.pipe("/data/b.bin", b"bbbbb")
    memfs.pipe("/data/sub/c.txt", b"hello")
    memfs.mkdir("/empty")
    return memfs


def error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ls


def test_ls_lists_full_paths_directories_marked(flyfs, tree) -> None:
    assert flyfs("ls", "/data") == (0, "/data/a.bin\n/data/b.bin\n/data/sub/\n", "")
    code, out, _ = flyfs("ls")
    assert code == 0 and out.splitlines() == ["/data/", "/empty/"]


def test_ls_long_sizes_are_human_unless_bytes(flyfs, tree) -> None:
    code, out, _ = flyfs("ls", "-l", "/data")
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("2.9", "KiB", "/data/a.bin"),
        ("5", "B", "/data/b.bin"),
        ("-", rows[2][1], "/data/sub/"),
    ]
    code, out, _ = flyfs("ls", "-lb", "/data/a.bin")
    assert code == 0 and out.split()[0] == "3000"


def test_ls_recursive_directory_and_glob(flyfs, tree) -> None:
    code, out, _ = flyfs("ls", "-R", "/data")
    assert code == 0
    assert out.splitlines() == ["/data/a.bin", "/data/b.bin", "/data/sub/", "/data/sub/c.txt"]
    assert flyfs("ls", "-d", "/data", "/empty")[1] == "/data/\n/empty/\n"
    assert flyfs("ls", "/data/*.bin")[1] == "/data/a.bin\n/data/b.bin\n"


@pytest.mark.parametrize("path", ["/nope", "/data/*.nope"])
def test_ls_missing_path_is_one_enoent_line(flyfs, tree, path: str) -> None:
    code, out, err = flyfs("ls", path)
    assert (code, out) == (1, "")
    line = error_line(err)
    assert line.startswith(f"flyfs: {path}: ") and line.endswith("(ENOENT)")


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "relative/path"],
        ["ls", "s3://bucket/x"],
        ["cat"],
        ["put", "only-one"],
        ["ls", "--no-such-option"],
        ["put", "a", "relative"],
    ],
)
def test_usage_errors_exit_2(flyfs, memfs, argv: list[str]) -> None:
    code, out, err = flyfs(*argv)
    assert (code, out) == (2, "")
    assert "usage: flyfs" in err


# stat, cat


def test_stat_prints_fields_and_json(flyfs, tree) -> None:
    code, out, _ = flyfs("stat", "/data/a.bin", "/data/sub")
    assert code == 0
    first, second = out.split("\n\n")
    fields = [line.split() for line in first.splitlines()]
    assert fields[:3] == [["name:", "/data/a.bin"], ["type:", "file"], ["size:", "3000"]]
    assert [line.split() for line in second.splitlines()][:2] == [
        ["name:", "/data/sub"],
        ["type:", "directory"],
    ]
    code, out, _ = flyfs("stat", "--json", "/data/*.bin")
    infos = [json.loads(line) for line in out.splitlines()]
    assert [(i["name"], i["size"]) for i in infos] == [("/data/a.bin", 3000), ("/data/b.bin", 5)]


def test_cat_streams_files_in_order(flyfs, tree) -> None:
    assert flyfs("cat", "/data/b.bin", "/data/sub/c.txt") == (0, "bbbbbhello", "")
    assert flyfs("cat", "/data/*.bin")[1] == "x" * 3000 + "bbbbb"


def test_cat_of_a_directory_or_missing_file_fails(flyfs, tree) -> None:
    code, out, err = flyfs("cat", "/data")
    assert (code, out, error_line(err)) == (1, "", "flyfs: /data: Is a directory (EISDIR)")
    code, _, err = flyfs("cat", "/data/nope")
    assert code == 1 and error_line(err).endswith("(ENOENT)")


# put, get


def test_put_a_file_into_a_directory_and_onto_a_name(flyfs, memfs, tmp_path: Path) -> None:
    local = tmp_path / "w.bin"
    local.write_bytes(b"weights")
    memfs.mkdir("/models")
    assert flyfs("put", str(local), "/models") == (0, "", "")
    assert flyfs("put", str(local), "/models/renamed.bin") == (0, "", "")
    assert memfs.cat("/models/w.bin") == memfs.cat("/models/renamed.bin") == b"weights"


def test_put_recursive_tree_and_several_sources(flyfs, memfs, tmp_path: Path) -> None:
    src = tmp_path / "ds"
    (src / "part").mkdir(parents=True)
    (src / "x").write_bytes(b"1")
    (src / "part" / "y").write_bytes(b"22")
    other = tmp_path / "z"
    other.write_bytes(b"333")
    assert flyfs("put", "-r", str(src), "/up/ds")[0] == 0
    assert memfs.cat("/up/ds/x") == b"1" and memfs.cat("/up/ds/part/y") == b"22"
    assert flyfs("put", str(src / "x"), str(other), "/many")[0] == 0
    assert memfs.cat("/many/x") == b"1" and memfs.cat("/many/z") == b"333"


def test_put_refuses_a_directory_without_r_and_a_missing_file(flyfs, memfs, tmp_path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    code, _, err = flyfs("put", str(tmp_path / "f"), str(tmp_path), "/up/")
    assert (code, error_line(err)) == (1, f"flyfs: {tmp_path}: is a directory (use -r) (EISDIR)")
    assert not memfs.exists("/up/f")  # checked before anything moved
    code, _, err = flyfs("put", str(tmp_path / "nope"), "/up/")
    assert code == 1 and error_line(err) == (
        f"flyfs: {tmp_path / 'nope'}: No such file or directory (ENOENT)"
    )


def test_get_files_globs_and_trees(flyfs, tree, tmp_path: Path) -> None:
    assert flyfs("get", "/data/b.bin", str(tmp_path)) == (0, "", "")
    assert (tmp_path / "b.bin").read_bytes() == b"bbbbb"
    assert flyfs("get", "/data/*.bin", str(tmp_path / "globbed"))[0] == 0
    assert sorted(p.name for p in (tmp_path / "globbed").iterdir()) == ["a.bin", "b.bin"]
    assert flyfs("get", "-r", "/data", str(tmp_path / "copy"))[0] == 0
    assert (tmp_path / "copy" / "sub" / "c.txt").read_bytes() == b"hello"


def test_get_missing_or_directory_without_r_fails(flyfs, tree, tmp_path: Path) -> None:
    code, _, err = flyfs("get", "/data/nope", str(tmp_path))
    assert code == 1 and error_line(err).startswith("flyfs: /data/nope: ")
    assert err.rstrip().endswith("(ENOENT)")
    code, _, err = flyfs("get", "/data", str(tmp_path))
    assert (code, error_line(err)) == (1, "flyfs: /data: is a directory (use -r) (EISDIR)")
    assert list(tmp_path.iterdir()) == []


# cp, mv, rm, mkdir


def test_cp_files_and_trees(flyfs, tree) -> None:
    assert flyfs("cp", "/data/b.bin", "/copy.bin")[0] == 0
    assert tree.cat("/copy.bin") == b"bbbbb"
    code, _, err = flyfs("cp", "/data", "/copied")
    assert code == 1 and error_line(err).endswith("(EISDIR)")
    assert flyfs("cp", "-r", "/data", "/copied")[0] == 0
    assert tree.cat("/copied/sub/c.txt") == b"hello"
    assert flyfs("cp", "/data/a.bin", "/data/b.bin", "/two")[0] == 0
    assert sorted(tree.ls("/two", detail=False)) == ["/two/a.bin", "/two/b.bin"]


def test_mv_renames_files_and_directories(flyfs, tree) -> None:
    assert flyfs("mv", "/data/b.bin", "/data/renamed.bin")[0] == 0
    assert not tree.exists("/data/b.bin") and tree.cat("/data/renamed.bin") == b"bbbbb"
    assert flyfs("mv", "/data/sub", "/moved")[0] == 0
    assert tree.cat("/moved/c.txt") == b"hello" and not tree.exists("/data/sub")
    code, _, err = flyfs("mv", "/nope", "/x")
    assert code == 1 and error_line(err).endswith("(ENOENT)")


def test_rm_files_globs_and_directories(flyfs, tree) -> None:
    code, _, err = flyfs("rm", "/data/b.bin", "/data")
    assert (code, error_line(err)) == (1, "flyfs: /data: Is a directory (EISDIR)")
    assert tree.exists("/data/b.bin")  # refused before anything was removed
    assert flyfs("rm", "/data/*.bin")[0] == 0
    assert tree.ls("/data", detail=False) == ["/data/sub"]
    assert flyfs("rm", "-r", "/data")[0] == 0
    assert not tree.exists("/data")


@pytest.mark.parametrize("argv", [["-r", "/"], ["-rf", "flyfs://h:1/"], ["-r", "/*", "/"]])
def test_rm_never_removes_the_root(flyfs, tree, argv: list[str]) -> None:
    code, _, err = flyfs("rm", *argv)
    assert code == 1 and error_line(err).endswith(": refusing to remove the root (EPERM)")
    assert tree.exists("/data/a.bin")


def test_rm_missing_path_fails_unless_forced(flyfs, tree) -> None:
    code, _, err = flyfs("rm", "/nope")
    assert code == 1 and error_line(err).endswith("(ENOENT)")
    assert flyfs("rm", "-f", "/nope", "/no/*.x", "/data/b.bin") == (0, "", "")
    assert not tree.exists("/data/b.bin")


def test_mkdir_with_and_without_parents(flyfs, memfs) -> None:
    assert flyfs("mkdir", "/a") == (0, "", "")
    assert flyfs("mkdir", "-p", "/a/b/c", "/a") == (0, "", "")
    assert memfs.isdir("/a/b/c")


# du


def test_du_totals_per_path_files_and_grand_total(flyfs, tree) -> None:
    assert flyfs("du", "-b", "/data", "/data/sub") == (0, "3010  /data\n   5  /data/sub\n", "")
    out = flyfs("du", "-a", "-c", "/data/sub")[1]
    assert out.splitlines() == ["5 B  /data/sub/c.txt", "5 B  /data/sub", "5 B  total"]
    assert flyfs("du", "/data")[1] == "2.9 KiB  /data\n"
    code, _, err = flyfs("du", "/nope")
    assert code == 1 and error_line(err).endswith("(ENOENT)")


# clusters


def test_cluster_comes_from_the_url_else_the_option(flyfs, tree) -> None:
    assert flyfs("cat", "flyfs://10.0.0.1:7000/data/b.bin")[1] == "bbbbb"
    assert flyfs("ls", "--cluster", "10.0.0.2:7000", "flyfs:///data/sub")[1] == "/data/sub/c.txt\n"
    assert flyfs("ls", "--cluster", "/x/cluster.json", "/empty") == (0, "", "")
    assert tree.clusters == ["10.0.0.1:7000", "10.0.0.2:7000", "/x/cluster.json"]


def test_paths_on_two_clusters_are_refused(flyfs, tree) -> None:
    code, _, err = flyfs("cp", "flyfs://h1:1/a", "flyfs://h2:2/b")
    assert (code, error_line(err)) == (
        1,
        "flyfs: h1:1 -> h2:2: paths on two clusters (EXDEV)",
    )
    assert tree.clusters == []


def test_unreachable_cluster_exits_3_with_one_line(flyfs, monkeypatch) -> None:
    def refused(cluster: str | None):
        raise ConnectionRefusedError(111, "Connection refused", cluster)

    monkeypatch.setattr(remote, "filesystem", refused)
    code, out, err = flyfs("ls", "--cluster", "127.0.0.1:1", "/")
    assert (code, out) == (3, "")
    assert error_line(err) == "flyfs: 127.0.0.1:1: Connection refused (ECONNREFUSED)"


@pytest.mark.parametrize(
    ("text", "cluster", "path"),
    [
        ("/a/b", None, "/a/b"),
        ("/a//b/./c/", None, "/a/b/c/"),
        ("/", None, "/"),
        ("flyfs:///a", None, "/a"),
        ("flyfs://127.0.0.1:7000", "127.0.0.1:7000", "/"),
        ("flyfs://127.0.0.1:7000/a/b/", "127.0.0.1:7000", "/a/b/"),
    ],
)
def test_remote_paths(text: str, cluster: str | None, path: str) -> None:
    assert remote.remote_path(text) == remote.RemotePath(cluster, path)


@pytest.mark.parametrize("text", ["a/b", "", "s3://bucket/x", "flyfs://data/x.bin"])
def test_not_remote_paths(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        remote.remote_path(text)
