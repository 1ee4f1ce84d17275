"""Bytes through the filesystem: every way in and out, at sizes around chunk boundaries."""

from __future__ import annotations

import os

import pytest
from conftest import CHUNK, SIZES, make_fs, pattern

from flyfs.client import FlyfsFileSystem
from flyfs.layout import chunk_id
from flyfs.routing import split_address
from storage.chunk_meta import data_offset


@pytest.mark.parametrize("size", SIZES)
def test_pipe_then_cat_every_size(fs: FlyfsFileSystem, base: str, size: int) -> None:
    data = pattern(size, size)
    fs.pipe_file(f"{base}/f", data)
    got = fs.cat_file(f"{base}/f")
    assert type(got) is bytes
    assert got == data
    assert fs.size(f"{base}/f") == size


@pytest.mark.parametrize("size", SIZES)
def test_open_write_then_read_every_size(fs: FlyfsFileSystem, base: str, size: int) -> None:
    data = pattern(size, 1)
    with fs.open(f"{base}/f", "wb") as f:
        for at in range(0, size, 1000):  # unaligned pieces crossing chunk boundaries
            f.write(data[at : at + 1000])
        assert f.tell() == size
    with fs.open(f"{base}/f", "rb") as f:
        assert f.size == size
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]
        f.seek(max(0, size - CHUNK - 3))
        assert f.read() == data[max(0, size - CHUNK - 3) :]


def test_cat_file_ranges(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(3 * CHUNK + 17)
    fs.pipe_file(f"{base}/f", data)
    for start, end in [(0, 1), (5, CHUNK + 5), (CHUNK - 1, CHUNK + 1), (-17, None), (10, -10)]:
        assert fs.cat_file(f"{base}/f", start, end) == data[start:end]
    assert fs.cat_file(f"{base}/f", len(data) + 5, len(data) + 10) == b""
    assert fs.cat_file(f"{base}/f", 20, 10) == b""


def test_cat_ranges_many_files(fs: FlyfsFileSystem, base: str) -> None:
    blobs = {f"{base}/f{i}": pattern(CHUNK * i + 13, i) for i in range(4)}
    fs.pipe(blobs)
    paths, starts, ends, want = [], [], [], []
    for path, data in blobs.items():
        for start in (0, 7, CHUNK - 2):
            paths.append(path)
            starts.append(start)
            ends.append(start + 300)
            want.append(data[start : start + 300])
    assert fs.cat_ranges(paths, starts, ends) == want


def test_cat_ranges_reports_a_missing_file_in_place(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/a", b"abc")
    out = fs.cat_ranges([f"{base}/a", f"{base}/nope"], [0, 0], [2, 2])
    assert out[0] == b"ab"
    assert isinstance(out[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges([f"{base}/a", f"{base}/nope"], [0, 0], [2, 2], on_error="raise")


def test_read_into_and_cat_ranges_into_fill_caller_buffers(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(3 * CHUNK + 17)
    fs.pipe_file(f"{base}/f", data)
    buf = bytearray(CHUNK + 10)
    assert fs.read_into(f"{base}/f", CHUNK - 5, buf) == CHUNK + 10
    assert buf == data[CHUNK - 5 : 2 * CHUNK + 5]
    tail = bytearray(100)
    assert fs.read_into(f"{base}/f", len(data) - 17, tail) == 17
    assert tail[:17] == data[-17:]
    one, two = bytearray(10), memoryview(bytearray(400 << 10))
    counts = fs.cat_ranges_into([f"{base}/f", f"{base}/f"], [3, 0], [one, two])
    assert counts == [10, len(data)]
    assert one == data[3:13]
    assert two[: len(data)] == data


def test_append_and_exclusive(fs: FlyfsFileSystem, base: str) -> None:
    first, more = pattern(CHUNK + 5, 1), pattern(2 * CHUNK, 2)
    with fs.open(f"{base}/log", "ab") as f:
        f.write(first)
    with fs.open(f"{base}/log", "ab") as f:
        assert f.tell() == len(first)
        f.write(more)
    assert fs.cat_file(f"{base}/log") == first + more
    with fs.open(f"{base}/new", "xb") as f:
        f.write(b"once")
    with pytest.raises(FileExistsError):
        fs.open(f"{base}/new", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{base}/new", b"twice", mode="create")
    assert fs.cat_file(f"{base}/new") == b"once"


def test_overwrite_is_all_or_nothing(fs: FlyfsFileSystem, base: str) -> None:
    old, new = pattern(2 * CHUNK, 1), pattern(CHUNK + 3, 2)
    fs.pipe_file(f"{base}/ckpt", old)
    with fs.open(f"{base}/ckpt", "wb") as f:
        f.write(new[:CHUNK])
        assert fs.cat_file(f"{base}/ckpt") == old  # readers see the old file until close
        f.write(new[CHUNK:])
    assert fs.cat_file(f"{base}/ckpt") == new


def test_a_failed_write_leaves_the_old_file(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/ckpt", b"old")
    with pytest.raises(ZeroDivisionError), fs.open(f"{base}/ckpt", "wb") as f:
        f.write(b"new, half written")
        raise ZeroDivisionError
    assert fs.cat_file(f"{base}/ckpt") == b"old"
    with pytest.raises(ZeroDivisionError), fs.open(f"{base}/fresh", "wb") as f:
        f.write(b"never published")
        raise ZeroDivisionError
    assert fs.cat_file(f"{base}/fresh") == b""  # created at open (O_CREAT), left empty


def test_text_mode(fs: FlyfsFileSystem, base: str) -> None:
    with fs.open(f"{base}/t.txt", "w", encoding="utf-8") as f:
        f.write("héllo\nwörld\n")
    with fs.open(f"{base}/t.txt", "r", encoding="utf-8") as f:
        assert f.readlines() == ["héllo\n", "wörld\n"]


def test_sequential_small_reads_use_readahead(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(3 * CHUNK + 17)
    fs.pipe_file(f"{base}/f", data)
    with fs.open(f"{base}/f", "rb") as f:
        pieces = [f.read(1000) for _ in range(len(data) // 1000 + 1)]
        fetched = f.cache.total_requested_bytes
        hits, misses = f.cache.hit_count, f.cache.miss_count
    assert b"".join(pieces) == data
    assert misses == 1  # only the first block is waited for; the others were read ahead
    assert hits > len(pieces) - 2  # every other read() found its bytes in hand
    assert fetched == len(data)  # and nothing is fetched twice


def test_a_sequential_read_fetches_on_two_loops_and_close_closes_both(local_cluster) -> None:
    data = pattern(12 * CHUNK + 17)
    fs = make_fs(local_cluster, data_loops=2)
    try:
        fs.pipe_file("/two-loops", data)
        with fs.open("/two-loops", "rb") as f:
            assert b"".join(iter(lambda: f.read(CHUNK), b"")) == data
        pools = dict(fs.link._chunk_io._storage)
        assert len(pools) == 2 and fs.loop in pools  # fsspec's loop and one of its own
        assert all(_connections(p, fs) for p in pools.values())  # both fetched
    finally:
        fs.rm("/two-loops")
        fs.close()
    assert not fs.link._chunk_io._storage
    assert not any(_connections(p, fs) for p in pools.values())


def _connections(storage, fs: FlyfsFileSystem) -> int:
    """Open data-plane connections of one loop's pool, to all storage nodes."""
    routing = fs.link.control.routing
    nodes = [split_address(n.data_address) for n in routing.info.nodes if n.data_address]
    return sum(storage.pool.connection_count(address) for address in nodes)


def test_a_replica_with_corrupt_bytes_is_never_read_through(
    fs: FlyfsFileSystem, base: str, local_cluster
) -> None:
    """One node's copies lose a byte on disk; its CRCs, sent beside them, still say what
    the bytes were, so every reader must notice and read another replica."""
    data = pattern(12 * CHUNK + 17, 3)
    fs.pipe_file(f"{base}/f", data)
    inode = int(fs.info(f"{base}/f")["ino"])
    names = {chunk_id(inode, i).hex() + ".c" for i in range(13)}
    corrupted = 0
    for target in local_cluster.storage[0].targets:
        for path in (target / "chunks").glob("*/*.c"):
            if path.name in names:
                with open(path, "r+b") as chunk_file:
                    chunk_file.seek(data_offset(CHUNK) + 10)  # inside even the 17-byte last
                    byte = chunk_file.read(1)
                    chunk_file.seek(-1, os.SEEK_CUR)
                    chunk_file.write(bytes([byte[0] ^ 0xFF]))
                corrupted += 1
    assert corrupted >= 4  # node 0 holds a replica of every chunk in a 3-node cluster
    for _ in range(3):  # replicas rotate: each pass reads some chunks from node 0
        with fs.open(f"{base}/f", "rb") as f:
            assert b"".join(iter(lambda: f.read(CHUNK), b"")) == data
        assert fs.cat_file(f"{base}/f") == data


def test_readinto_large_goes_straight_to_the_buffer(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(3 * CHUNK + 17)
    fs.pipe_file(f"{base}/f", data)
    with fs.open(f"{base}/f", "rb") as f:
        head = bytearray(10)  # through the cache: its block, and the next ones read ahead
        assert f.readinto(head) == 10
        rest = bytearray(len(data))
        assert f.readinto(rest) == len(data) - 10
        # The big read bypassed the cache: its one miss is the first block.
        assert (f.cache.miss_count, f.cache.hit_count) == (1, 0)
    assert head + rest[: len(data) - 10] == data


def test_cp_file_streams_between_chunk_sizes(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(5 * CHUNK + 3)
    fs.pipe_file(f"{base}/src", data)
    fs.cp_file(f"{base}/src", f"{base}/deep/dst", chunk_size=2 * CHUNK)
    assert fs.cat_file(f"{base}/deep/dst") == data
    assert fs.info(f"{base}/deep/dst")["chunk_size"] == 2 * CHUNK
    fs.pipe_file(f"{base}/empty", b"")
    fs.cp_file(f"{base}/empty", f"{base}/empty2")
    assert fs.cat_file(f"{base}/empty2") == b""


def test_put_and_get_files_and_trees(fs: FlyfsFileSystem, base: str, tmp_path) -> None:
    local = tmp_path / "up"
    (local / "sub").mkdir(parents=True)
    blobs = {"a.bin": pattern(3 * CHUNK + 17, 1), "sub/b.bin": b"", "sub/c.bin": b"c"}
    for name, data in blobs.items():
        (local / name).write_bytes(data)
    fs.put(str(local), f"{base}/tree", recursive=True)
    for name, data in blobs.items():
        assert fs.cat_file(f"{base}/tree/{name}") == data
    fs.put_file(str(local / "a.bin"), f"{base}/single.bin")
    assert fs.cat_file(f"{base}/single.bin") == blobs["a.bin"]

    down = tmp_path / "down"
    fs.get(f"{base}/tree", str(down), recursive=True)
    for name, data in blobs.items():
        assert (down / name).read_bytes() == data
    fs.get_file(f"{base}/single.bin", str(tmp_path / "one.bin"))
    assert (tmp_path / "one.bin").read_bytes() == blobs["a.bin"]


def test_put_many_files_concurrently(fs: FlyfsFileSystem, base: str, tmp_path) -> None:
    names = [f"f{i:03d}" for i in range(60)]
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(pattern(i * 1000, i))
    fs.put([str(tmp_path / n) for n in names], [f"{base}/{n}" for n in names])
    got = fs.cat([f"{base}/{n}" for n in names])
    assert got == {f"{base}/{n}": pattern(i * 1000, i) for i, n in enumerate(names)}


def test_readahead_after_seeks_and_big_reads(fs: FlyfsFileSystem, base: str) -> None:
    data = pattern(6 * CHUNK + 17)
    fs.pipe_file(f"{base}/f", data)
    with fs.open(f"{base}/f", "rb", block_size=CHUNK) as f:
        assert f.read(100) == data[:100]
        f.seek(4 * CHUNK + 3)  # away from the block on its way
        assert f.read(CHUNK) == data[4 * CHUNK + 3 : 5 * CHUNK + 3]
        f.seek(10)
        assert f.read(3 * CHUNK) == data[10 : 3 * CHUNK + 10]  # a big read, then ahead
        assert f.read(50) == data[3 * CHUNK + 10 : 3 * CHUNK + 60]
        assert f.read() == data[3 * CHUNK + 60 :]
        assert f.read(10) == b""


def test_write_at_updates_in_place_and_grows_the_file(fs: FlyfsFileSystem, base: str) -> None:
    data = bytearray(pattern(3 * CHUNK, 7))
    fs.pipe_file(f"{base}/f", bytes(data))
    ino = fs.info(f"{base}/f")["ino"]
    patches = [(10, b"abc"), (CHUNK - 2, b"straddle"), (3 * CHUNK + 5, b"past the end")]
    fs.write_at(f"{base}/f", patches)
    data.extend(bytes(3 * CHUNK + 5 + 12 - len(data)))
    for offset, patch in patches:
        data[offset : offset + len(patch)] = patch
    assert fs.cat_file(f"{base}/f") == bytes(data)  # the gap past the old end reads as zeros
    assert fs.info(f"{base}/f")["ino"] == ino  # in place: the same inode
    with pytest.raises(FileNotFoundError):
        fs.write_at(f"{base}/missing", [(0, b"x")])
    with pytest.raises(OSError):
        fs.write_at(f"{base}/f", [(-1, b"x")])
    assert fs.cat_file(f"{base}/f") == bytes(data)


def test_cat_ranges_into_can_return_errors_in_place(fs: FlyfsFileSystem, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"0123456789")
    into = [bytearray(4), bytearray(4)]
    counts = fs.cat_ranges_into([f"{base}/f", f"{base}/missing"], [3, 0], into, on_error="return")
    assert counts[0] == 4 and bytes(into[0]) == b"3456"
    assert isinstance(counts[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges_into([f"{base}/missing"], [0], [bytearray(1)])
