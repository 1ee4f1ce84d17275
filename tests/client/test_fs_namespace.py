"""Namespace calls: listing, stat, directories, removal, rename, times and keys."""

from __future__ import annotations

import errno
import time
from datetime import UTC, datetime

import pytest

from flyfs.client import FlyfsFileSystem


def test_ls_info_exists(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe({f"{base}/b.bin": b"12345", f"{base}/a/x": b""})
    assert fs.ls(base, detail=False) == [f"{base}/a", f"{base}/b.bin"]
    by_name = {e["name"]: e for e in fs.ls(base)}
    assert by_name[f"{base}/a"]["type"] == "directory"
    assert by_name[f"{base}/b.bin"] | {"size": 5, "type": "file"} == by_name[f"{base}/b.bin"]
    info = fs.info(f"flyfs://{fs.cluster}{base}/b.bin")
    assert (info["name"], info["size"], info["type"]) == (f"{base}/b.bin", 5, "file")
    assert fs.ls(f"{base}/b.bin", detail=False) == [f"{base}/b.bin"]  # ls of a file
    assert fs.exists(f"{base}/b.bin") and fs.exists(base)
    assert not fs.exists(f"{base}/nope") and not fs.exists(f"{base}/b.bin/under-a-file")
    assert fs.isdir(f"{base}/a") and not fs.isdir(f"{base}/b.bin")
    assert fs.isfile(f"{base}/b.bin") and not fs.isfile(f"{base}/a")
    assert fs.info("/")["type"] == "directory"
    with pytest.raises(FileNotFoundError):
        fs.info(f"{base}/nope")
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{base}/nope")


def test_ls_pages_through_large_directories(fs: FlyfsFileSystem, base: str) -> None:
    names = [f"{base}/d/{i:05d}" for i in range(1203)]  # > meta's default page of 1,000
    fs.pipe(dict.fromkeys(names, b""))
    assert fs.ls(f"{base}/d", detail=False) == names


def test_mkdir_makedirs(fs: FlyfsFileSystem, base: str) -> None:
    fs.mkdir(f"{base}/x/y/z")
    assert fs.isdir(f"{base}/x/y/z")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{base}/x")
    with pytest.raises(FileNotFoundError):
        fs.mkdir(f"{base}/p/q", create_parents=False)
    fs.makedirs(f"{base}/x/y/z", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.makedirs(f"{base}/x/y/z")
    fs.makedirs(f"{base}/m/n", exist_ok=False)
    assert fs.isdir(f"{base}/m/n")


def test_rm_rm_file_rmdir(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe({f"{base}/t/a": b"1", f"{base}/t/s/b": b"2", f"{base}/t/s/u/c": b"3", f"{base}/f": b""})
    fs.mkdir(f"{base}/t/empty")
    fs.rm_file(f"{base}/f")
    assert not fs.exists(f"{base}/f")
    with pytest.raises(IsADirectoryError):
        fs.rm(f"{base}/t")
    with pytest.raises(OSError) as not_empty:
        fs.rmdir(f"{base}/t")
    assert not_empty.value.errno == errno.ENOTEMPTY
    fs.rmdir(f"{base}/t/empty")
    fs.rm(f"{base}/t", recursive=True)
    assert fs.ls(base) == []
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{base}/t", recursive=True)
    with pytest.raises(FileNotFoundError):
        fs.rm_file(f"{base}/gone")


def test_mv_files_and_directories(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe({f"{base}/a.bin": b"a", f"{base}/tree/x": b"x", f"{base}/tree/s/y": b"y"})
    fs.mv(f"{base}/a.bin", f"{base}/new/b.bin")  # missing parents are made (auto_mkdir)
    assert fs.cat_file(f"{base}/new/b.bin") == b"a" and not fs.exists(f"{base}/a.bin")
    ino = fs.info(f"{base}/tree")["ino"]
    fs.mv(f"{base}/tree", f"{base}/moved")  # one rename: the same inode, whole tree
    assert fs.info(f"{base}/moved")["ino"] == ino
    assert fs.cat_file(f"{base}/moved/s/y") == b"y" and not fs.exists(f"{base}/tree")
    fs.mv(f"{base}/new/b.bin", f"{base}/moved")  # onto a directory: into it
    assert fs.cat_file(f"{base}/moved/b.bin") == b"a"
    fs.pipe_file(f"{base}/other", b"other")
    fs.rename(f"{base}/other", f"{base}/moved/b.bin")  # replaces a file, atomically
    assert fs.cat_file(f"{base}/moved/b.bin") == b"other"
    with pytest.raises(FileNotFoundError):
        fs.mv(f"{base}/nope", f"{base}/x")


def test_du_find_glob_walk(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe({f"{base}/a.txt": b"12", f"{base}/s/b.txt": b"345", f"{base}/s/c.bin": b"6789"})
    assert fs.du(base) == 9
    assert fs.du(base, total=False) == {
        f"{base}/a.txt": 2,
        f"{base}/s/b.txt": 3,
        f"{base}/s/c.bin": 4,
    }
    assert fs.find(base) == [f"{base}/a.txt", f"{base}/s/b.txt", f"{base}/s/c.bin"]
    assert fs.find(base, withdirs=True, maxdepth=1) == [base, f"{base}/a.txt", f"{base}/s"]
    assert fs.glob(f"{base}/**/*.txt") == [f"{base}/a.txt", f"{base}/s/b.txt"]
    assert fs.glob(f"flyfs://{fs.cluster}{base}/s/*.bin") == [f"{base}/s/c.bin"]
    assert [root for root, _, _ in fs.walk(base)] == [base, f"{base}/s"]


def test_touch_times_size(fs: FlyfsFileSystem, base: str) -> None:
    before = datetime.now(UTC)
    fs.touch(f"{base}/t")
    assert fs.cat_file(f"{base}/t") == b"" and fs.size(f"{base}/t") == 0
    created, modified = fs.created(f"{base}/t"), fs.modified(f"{base}/t")
    assert created.tzinfo is UTC and abs((created - before).total_seconds()) < 5
    fs.pipe_file(f"{base}/t", b"data")
    time.sleep(0.01)
    fs.touch(f"{base}/t", truncate=False)
    assert fs.cat_file(f"{base}/t") == b"data"
    assert fs.modified(f"{base}/t") > modified
    fs.touch(f"{base}/t")  # truncate=True
    assert fs.size(f"{base}/t") == 0
    assert fs.sizes([f"{base}/t"]) == [0]


def test_checksum_and_ukey_change_with_contents(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"one")
    key, checksum = fs.ukey(f"{base}/f"), fs.checksum(f"{base}/f")
    assert fs.ukey(f"{base}/f") == key and fs.checksum(f"{base}/f") == checksum
    fs.pipe_file(f"{base}/f", b"two")
    assert fs.ukey(f"{base}/f") != key and fs.checksum(f"{base}/f") != checksum
