"""Chunk files kept open for reads: never a stale version, never a removed file's space."""

from __future__ import annotations

import os
from pathlib import Path

from storage_helpers import CHUNK, put

from flyfs.layout import chunk_id
from flyfs.storage.chunk_store import ChunkStore
from flyfs.storage.read_fds import ReadFds


def open_files_under(directory: str) -> list[str]:
    """Targets of this process's descriptors inside `directory` ("(deleted)" marks removed)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if target.startswith(directory):
            found.append(target)
    return found


def read_all(store: ChunkStore, cid: bytes) -> bytes:
    with store.open_read(cid, 0, CHUNK) as handle:
        return os.pread(handle.fd, handle.length, handle.file_offset)


def test_a_read_after_a_new_version_sees_the_new_file(store, cid):
    put(store, cid, 0, b"a" * 1000)
    assert read_all(store, cid) == b"a" * 1000  # the file is kept open now
    put(store, cid, 0, b"b" * 500)
    assert read_all(store, cid) == b"b" * 500 + b"a" * 500
    store.truncate(cid, 10, update_ver=3, chunk_size=CHUNK)
    store.commit(cid, 3)
    assert read_all(store, cid) == b"b" * 10


def test_a_repaired_copy_of_the_same_version_is_read_from_its_new_file(store, cid, tmp_path):
    data = os.urandom(3000)
    put(store, cid, 0, data)
    assert read_all(store, cid) == data
    chunk_file = next(Path(store.path).rglob(f"{cid.hex()}.c"))
    raw = bytearray(chunk_file.read_bytes())
    raw[-1] ^= 0xFF  # rot the last byte on disk, behind the engine's back
    chunk_file.write_bytes(raw)
    healthy = ChunkStore(str(tmp_path / "healthy"), fsync=False)
    put(healthy, cid, 0, data)
    store.install(healthy.meta(cid), data, expect_commit_ver=1)  # the same version 1
    assert read_all(store, cid) == data


def test_removing_a_chunk_closes_its_kept_file(store, cid):
    put(store, cid, 0, b"x" * 4096)
    read_all(store, cid)
    assert any(cid.hex() in f for f in open_files_under(store.path))
    assert store.remove([cid]) == 1
    assert not [f for f in open_files_under(store.path) if cid.hex() in f]


def test_kept_files_are_bounded_and_reads_stay_right(tmp_path):
    store = ChunkStore(str(tmp_path / "t"), fsync=False)
    store._read_fds.limit = 8
    ids = [chunk_id(3, i) for i in range(20)]
    for i, c in enumerate(ids):
        put(store, c, 0, bytes([i]) * (i + 1))
    for _ in range(2):
        for i, c in enumerate(ids):
            assert read_all(store, c) == bytes([i]) * (i + 1)
    assert len(store._read_fds) == 8
    assert len(open_files_under(store.path)) == 8


def test_read_fds_alone_hand_out_their_own_descriptors(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    fds = ReadFds(limit=2)
    version = object()
    first = fds.open(b"c", version, str(path))
    second = fds.open(b"c", version, str(path))
    assert first != second  # each caller closes its own
    os.close(first)
    assert os.pread(second, 5, 0) == b"hello"  # closing one leaves the other
    os.close(second)
    fds.forget(b"c")
    assert len(fds) == 0
    fds.close()
