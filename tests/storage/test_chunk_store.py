"""The chunk engine against a bytearray model, and its version and retry rules."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_helpers import CHUNK, put

from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id, inode_chunk_range
from flyfs.storage import checksums
from flyfs.storage.checksums import BLOCK
from flyfs.storage.chunk_store import ChunkStore

A = b"\xaa" * 16
B = b"\xbb" * 16

SHAPES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, CHUNK - 1, CHUNK]


def pattern(n: int, seed: int) -> bytes:
    return (bytes(range(seed % 251, 256)) + bytes(range(256)) * (n // 256 + 2))[:n]


def code(exc: pytest.ExceptionInfo) -> Code:
    assert isinstance(exc.value, FlyfsError)
    return exc.value.code


@pytest.mark.parametrize("size", SHAPES)
def test_write_read_shapes(store, cid, size):
    data = pattern(size, size)
    put(store, cid, 0, data)
    assert store.read(cid, 0, CHUNK) == data
    assert store.meta(cid).length == size
    # A range of every shape out of a full chunk.
    other = chunk_id(8, 0)
    full = os.urandom(CHUNK)
    put(store, other, 0, full)
    for off in (0, 1, BLOCK - 1, BLOCK, CHUNK - size):
        assert store.read(other, off, size) == full[off : off + size]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["write", "truncate"]),
            st.integers(0, 3 * BLOCK + 7),
            st.sampled_from([0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 3]),
        ),
        min_size=1,
        max_size=8,
    ),
    reads=st.lists(st.tuples(st.integers(0, 6 * BLOCK), st.integers(0, 3 * BLOCK)), max_size=6),
)
def test_model(tmp_path_factory, ops, reads):
    chunk_size = 8 * BLOCK
    store = ChunkStore(str(tmp_path_factory.mktemp("t")), fsync=False)
    cid = chunk_id(1, 0)
    model = bytearray()
    for i, (op, off, n) in enumerate(ops):
        ver = i + 1
        if op == "write":
            n = min(n, chunk_size - off)
            data = pattern(n, i)
            store.write(cid, off, data, update_ver=ver, chunk_size=chunk_size)
            if off > len(model):
                model.extend(bytes(off - len(model)))
            model[off : off + n] = data
        else:
            store.truncate(cid, off, update_ver=ver, chunk_size=chunk_size)
            del model[off:]
            model.extend(bytes(off - len(model)))
        store.commit(cid, ver)
    assert store.read(cid, 0, chunk_size) == bytes(model)
    for off, n in reads:
        assert store.read(cid, off, n) == bytes(model[off : off + n])
    info = store.meta(cid)
    expect = [checksums.block_crc(model[k : k + BLOCK]) for k in range(0, len(model), BLOCK)]
    assert list(info.block_crcs) == expect
    # Everything survives a reopen.
    again = ChunkStore(store.path, fsync=False)
    assert again.read(cid, 0, chunk_size) == bytes(model)


def test_pending_invisible_until_commit(store, cid):
    put(store, cid, 0, b"old")
    store.write(cid, 0, b"new!", update_ver=2, chunk_size=CHUNK)
    with store.open_read(cid, 0, 10) as h:
        assert h.pending and h.commit_ver == 1 and h.update_ver == 2
        assert os.pread(h.fd, h.length, h.file_offset) == b"old"
    assert store.read(cid, 0, 10) == b"old"
    info = store.meta(cid)
    assert (info.update_ver, info.commit_ver, info.pending, info.pending_length) == (2, 1, True, 4)
    store.commit(cid, 2)
    assert store.read(cid, 0, 10) == b"new!"
    assert not store.meta(cid).pending


def test_pending_only_chunk(store, cid):
    store.write(cid, 0, b"x", update_ver=1, chunk_size=CHUNK)
    with store.open_read(cid, 0, 1) as h:
        assert h.pending and h.fd == -1 and h.length == 0
    with pytest.raises(FileNotFoundError) as exc:
        store.read(chunk_id(9, 9), 0, 1)
    assert code(exc) == Code.CHUNK_NOT_FOUND


def test_reader_fd_keeps_its_version(store, cid):
    put(store, cid, 0, b"a" * BLOCK)
    h = store.open_read(cid, 0, BLOCK)
    put(store, cid, 0, b"b" * BLOCK)
    with h:
        data = os.pread(h.fd, h.length, h.file_offset)
    assert data == b"a" * BLOCK
    assert checksums.block_crc(data) == h.block_crcs[0]


def test_version_rules(store, cid):
    kw = dict(chunk_size=CHUNK, client_id=A)
    store.write(cid, 0, b"one", update_ver=1, sequence=1, **kw)
    # Identical duplicate of the pending version: acknowledged, nothing applied.
    assert store.write(cid, 0, b"one", update_ver=1, sequence=1, **kw).duplicate
    # Same version, other payload or writer: conflict.
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"two", update_ver=1, sequence=1, **kw)
    assert code(exc) == Code.VERSION_CONFLICT
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"one", update_ver=1, sequence=2, **kw)
    assert code(exc) == Code.VERSION_CONFLICT
    # A newer version while one is pending: conflict.
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"x", update_ver=2, sequence=2, **kw)
    assert code(exc) == Code.VERSION_CONFLICT
    # Commit is needed; committing again is acknowledged; a future commit is refused.
    assert store.read(cid, 0, 3) == b""
    store.commit(cid, 1)
    assert store.commit(cid, 1).duplicate
    with pytest.raises(FlyfsError) as exc:
        store.commit(cid, 5)
    assert code(exc) == Code.VERSION_CONFLICT
    assert store.read(cid, 0, 3) == b"one"
    # The committed version's identical duplicate is acknowledged; other stale ones refused.
    assert store.write(cid, 0, b"one", update_ver=1, sequence=1, **kw).duplicate
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"zzz", update_ver=1, sequence=7, **kw)
    assert code(exc) == Code.STALE_VERSION
    # A gap: out of order.
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"zzz", update_ver=3, sequence=7, **kw)
    assert code(exc) == Code.VERSION_CONFLICT
    assert store.meta(cid).update_ver == 1


def test_retry_through_new_head_applies_once(store, cid):
    kw = dict(chunk_size=CHUNK, client_id=A)
    put(store, cid, 0, b"first", sequence=5, **kw)
    # The same (client, sequence) under a new version number: already applied.
    r = store.write(cid, 0, b"first", update_ver=2, sequence=5, retry=True, **kw)
    assert r.duplicate and r.commit_ver == 1
    r = store.write(cid, 0, b"older", update_ver=2, sequence=3, retry=True, **kw)
    assert r.duplicate
    # A first attempt below an applied sequence broke the client's ordering rule.
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"older", update_ver=2, sequence=4, **kw)
    assert exc.value.code == Code.VERSION_CONFLICT
    assert store.meta(cid).update_ver == 1
    assert not store.write(cid, 0, b"later", update_ver=2, sequence=6, **kw).duplicate


def test_client_map_eviction(tmp_path, cid):
    store = ChunkStore(str(tmp_path), fsync=False, max_clients=4)
    clients = [bytes([i]) * 16 for i in range(1, 7)]
    for i, c in enumerate(clients):
        put(store, cid, i, b"x", client_id=c, sequence=10)
    info = store.meta(cid)
    assert [c for c, _ in info.clients] == clients[2:]  # least recently updated evicted
    assert info.evicted == 2
    ver = info.commit_ver + 1
    # An evicted client's retry may have been applied: RETRY_UNKNOWN, never reapplied.
    with pytest.raises(FlyfsError) as exc:
        store.write(
            cid,
            0,
            b"x",
            update_ver=ver,
            chunk_size=CHUNK,
            client_id=clients[0],
            sequence=10,
            retry=True,
        )
    assert code(exc) == Code.RETRY_UNKNOWN
    # A first attempt from a client not in the map is applied.
    store.write(cid, 0, b"y", update_ver=ver, chunk_size=CHUNK, client_id=clients[0], sequence=11)
    store.commit(cid, ver)
    assert [c for c, _ in store.meta(cid).clients] == [*clients[3:], clients[0]]
    # The map survives a reopen.
    again = ChunkStore(str(tmp_path), fsync=False, max_clients=4)
    assert again.meta(cid).clients == store.meta(cid).clients
    assert again.meta(cid).evicted == 3


def test_partial_write_recomputes_touched_blocks(store, cid, monkeypatch):
    put(store, cid, 0, os.urandom(CHUNK))
    before = store.meta(cid).block_crcs
    calls = []
    real = checksums.block_crc
    monkeypatch.setattr(checksums, "block_crc", lambda d: calls.append(len(d)) or real(d))
    off = 10 * BLOCK + 100
    put(store, cid, off, b"z" * 10)  # inside one block
    assert len(calls) == 1
    calls.clear()
    put(store, cid, 20 * BLOCK - 5, b"q" * 10)  # straddles two blocks
    assert len(calls) == 2
    after = store.meta(cid).block_crcs
    changed = [k for k in range(len(after)) if after[k] != before[k]]
    assert changed == [10, 19, 20]
    assert store.verify(cid) == []


def test_payload_crc_checked(store, cid):
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"abc", update_ver=1, chunk_size=CHUNK, payload_crc=1)
    assert code(exc) == Code.CHECKSUM_MISMATCH
    assert store.meta(cid) is None


def test_bad_ranges(store, cid):
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, CHUNK - 1, b"ab", update_ver=1, chunk_size=CHUNK)
    assert code(exc) == Code.BAD_RANGE
    with pytest.raises(FlyfsError) as exc:
        store.truncate(cid, CHUNK + 1, update_ver=1, chunk_size=CHUNK)
    assert code(exc) == Code.BAD_RANGE


def test_truncate(store, cid):
    data = os.urandom(3 * BLOCK + 5)
    put(store, cid, 0, data)
    store.truncate(cid, BLOCK + 7, update_ver=2, chunk_size=CHUNK)
    assert store.read(cid, 0, CHUNK) == data  # pending
    store.commit(cid, 2)
    assert store.read(cid, 0, CHUNK) == data[: BLOCK + 7]
    store.truncate(cid, 2 * BLOCK + 1, update_ver=3, chunk_size=CHUNK)
    store.commit(cid, 3)
    assert store.read(cid, 0, CHUNK) == data[: BLOCK + 7] + bytes(BLOCK - 6)
    assert store.verify(cid) == []


def test_full_chunk_replace(store, cid):
    put(store, cid, 0, b"a" * 100)
    store.write(cid, 0, b"b" * 10, update_ver=2, chunk_size=CHUNK)
    # A syncing target takes a full replace past a gap and over a pending version.
    store.write(cid, 0, b"c" * 5, update_ver=7, chunk_size=CHUNK, full_chunk_replace=True)
    store.commit(cid, 7)
    assert store.read(cid, 0, CHUNK) == b"c" * 5
    with pytest.raises(FlyfsError) as exc:
        store.write(cid, 0, b"d", update_ver=7, chunk_size=CHUNK, full_chunk_replace=True)
    assert code(exc) == Code.STALE_VERSION


def test_install_for_resync_and_repair(store, cid, tmp_path):
    src = ChunkStore(str(tmp_path / "src"), fsync=False)
    data = os.urandom(2 * BLOCK + 9)
    put(src, cid, 0, data, client_id=A, sequence=3)
    meta = src.meta(cid)
    store.write(cid, 0, b"stale pending", update_ver=1, chunk_size=CHUNK)
    store.install(meta, data)
    got = store.meta(cid)
    assert (got.commit_ver, got.update_ver, got.clients) == (1, 1, ((A, 3),))
    assert store.read(cid, 0, CHUNK) == data
    # Through the wire format too.
    from flyfs.storage.chunk_meta import ChunkInfo

    again = ChunkInfo.from_proto(meta.to_proto(), CHUNK)
    assert again.block_crcs == meta.block_crcs and again.clients == meta.clients
    # A repair only while the versions still match; never a bad copy.
    with pytest.raises(FlyfsError) as exc:
        store.install(meta, data, expect_commit_ver=5)
    assert code(exc) == Code.VERSION_CONFLICT
    with pytest.raises(FlyfsError) as exc:
        store.install(meta, bytes([data[0] ^ 0xFF]) + data[1:], expect_commit_ver=1)
    assert code(exc) == Code.CHECKSUM_MISMATCH


def test_remove_list_query_space(store):
    free0 = store.space()
    ids = [chunk_id(5, i) for i in range(5)] + [chunk_id(6, 0), chunk_id(4, 9)]
    for i, c in enumerate(ids):
        put(store, c, 0, b"x" * (i + 1))
    store.write(chunk_id(5, 9), 0, b"p", update_ver=1, chunk_size=CHUNK)  # pending only
    last, count = store.query_last_chunk(5)
    assert last.chunk_id == chunk_id(5, 4) and last.length == 5 and count == 5
    assert store.query_last_chunk(77) == (None, 0)
    begin, end = inode_chunk_range(5)
    page, nxt = store.list_chunks(begin, end, limit=4)
    assert [i.chunk_id for i in page] == ids[:4] and nxt
    page2, nxt2 = store.list_chunks(nxt, end, limit=4)
    assert [i.chunk_id for i in page2] == [ids[4], chunk_id(5, 9)] and nxt2 == b""
    assert page2[1].to_proto().state == 2  # CHUNK_STATE_PENDING
    space = store.space()
    assert space.chunks == 8 and space.used_bytes > free0.used_bytes
    assert 0 < space.free_bytes <= space.total_bytes
    assert store.remove([ids[0], ids[1], chunk_id(99, 0)]) == 2
    assert store.remove(i.chunk_id for i in store.list_chunks(begin, end)[0]) == 4
    assert [i.chunk_id for i in store.list_chunks()[0]] == [chunk_id(4, 9), chunk_id(6, 0)]
    reopened = ChunkStore(store.path, fsync=False)
    assert reopened.chunk_ids() == store.chunk_ids()
    assert reopened.space().used_bytes == store.space().used_bytes


def test_recovery_cleans_temp_and_quarantines_garbage(store, cid):
    put(store, cid, 0, b"keep")
    d = os.path.dirname(store._file(cid, "c"))
    with open(os.path.join(d, f"{cid.hex()}.deadbeef.tmp"), "wb") as f:
        f.write(b"half")
    with open(os.path.join(d, f"{chunk_id(3, 3).hex()}.c"), "wb") as f:
        f.write(b"not a chunk file")
    again = ChunkStore(store.path, fsync=False)
    assert sorted(os.listdir(d)) == [f"{cid.hex()}.c"]
    assert again.chunk_ids() == [cid]
    assert again.read(cid, 0, 4) == b"keep"
