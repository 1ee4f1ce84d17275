"""The embedded engine's batched commit, alone (a unit test of group_commit.py)."""

from __future__ import annotations

from flyfs.errors import Code
from flyfs.kv import KvConfig, open_database
from flyfs.kv.group_commit import Member, RecentWrites
from flyfs.kv.write_buffer import WriteBuffer


def test_recent_writes_find_overlaps_newer_than_the_read():
    recent = RecentWrites()
    recent.add(5, b"k", b"k\x00")
    recent.add(7, b"r/a", b"r/m")
    assert recent.conflict(4, b"k", b"k\x00") == 5
    assert recent.conflict(5, b"k", b"k\x00") is None
    assert recent.conflict(4, b"j", b"l") == 5  # a range read covering a point write
    assert recent.conflict(4, b"k\x00", b"l") is None
    assert recent.conflict(6, b"r/c", b"r/c\x00") == 7  # a point read inside a cleared range
    assert recent.conflict(6, b"r/m", b"r/z") is None
    assert recent.conflict(7, b"a", b"z") is None


def member(db, key: bytes, value: bytes) -> Member:
    tr = db.engine.begin()
    tr.get(key)
    writes = WriteBuffer()
    writes.set(key, value)
    read = Member(tr._read_version, list(tr._read_ranges), writes)
    tr.cancel()
    return read


def test_a_batch_orders_its_members_and_refuses_the_later_conflicting_one(tmp_path):
    with open_database(KvConfig(sqlite_path=str(tmp_path / "kv.db"))) as db:
        first, second, unrelated = (
            member(db, b"k", b"1"),
            member(db, b"k", b"2"),
            member(db, b"u", b"x"),
        )
        conn = db.engine._connect()
        db.engine.committer._run(conn, [first, second, unrelated])
        conn.close()
        assert first.error is None and unrelated.error is None
        assert second.error.code is Code.KV_CONFLICT
        assert db.read(lambda tr: (tr.get(b"k"), tr.get(b"u"))) == (b"1", b"x")


def test_a_cancelled_caller_is_dropped_and_the_committer_keeps_serving(tmp_path):
    with open_database(KvConfig(sqlite_path=str(tmp_path / "kv.db"))) as db:
        committer = db.engine.committer
        gone = member(db, b"gone", b"1")
        assert gone.future.cancel()  # the caller gave up before its batch ran
        committer.submit(gone)
        kept = member(db, b"kept", b"2")
        committer.submit(kept).result(timeout=10)
        assert db.read(lambda tr: (tr.get(b"gone"), tr.get(b"kept"))) == (None, b"2")
