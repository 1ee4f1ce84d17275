"""What only the embedded engine has: its file, its pragmas, its conflict log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.kv import Database, KvConfig, open_database
from flyfs.kv.sqlite_engine import SqliteEngine, SqliteOptions


def test_file_is_wal_with_full_sync(tmp_path: Path):
    with open_database(KvConfig(sqlite_path=str(tmp_path / "kv.db"))) as db:
        tr = db.engine.begin()
        conn = tr._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        tr.cancel()


def test_garbage_file_is_a_corrupt_error_and_is_left_alone(tmp_path: Path):
    path = tmp_path / "kv.db"
    garbage = b"this is not a database" * 500
    path.write_bytes(garbage)
    with pytest.raises(FlyfsError) as caught:
        open_database(KvConfig(sqlite_path=str(path)))
    assert caught.value.code is Code.KV_CORRUPT
    assert str(path) in str(caught.value)
    assert path.read_bytes() == garbage


def test_foreign_sqlite_file_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(FlyfsError) as caught:
        open_database(KvConfig(sqlite_path=str(path)))
    assert caught.value.code is Code.KV_CORRUPT
    assert "not a flyfs KV file" in str(caught.value)


def test_overwritten_pages_are_reported_on_read(tmp_path: Path):
    path = tmp_path / "kv.db"
    with open_database(KvConfig(sqlite_path=str(path))) as db:
        for batch in range(20):
            db.run(lambda tr, b=batch: [tr.set(b"k/%d/%d" % (b, i), b"v" * 500) for i in range(50)])
    raw = bytearray(path.read_bytes())
    raw[4096 * 2 : 4096 * 8] = b"\xa5" * (4096 * 6)
    path.write_bytes(bytes(raw))
    with pytest.raises(FlyfsError) as caught, open_database(KvConfig(sqlite_path=str(path))) as db:
        db.read(lambda tr: tr.get_range(b"", b"\xff"))
    assert caught.value.code is Code.KV_CORRUPT


def test_log_is_pruned_to_its_bound(tmp_path: Path):
    opts = SqliteOptions(tmp_path / "kv.db", log_max_versions=10, prune_every=4)
    with Database(SqliteEngine(opts)) as db:
        for i in range(40):
            db.run(lambda tr, i=i: tr.set(b"k%d" % i, b"v"))
        tr = db.engine.begin()
        rows = tr._conn.execute("SELECT count(*), min(version) FROM commit_log").fetchone()
        horizon = tr._conn.execute("SELECT value FROM state WHERE name='horizon'").fetchone()[0]
        tr.cancel()
    assert rows[0] <= 10 + 4
    assert horizon == rows[1] - 1


def test_transaction_past_its_age_limit_is_too_old(tmp_path: Path):
    opts = SqliteOptions(tmp_path / "kv.db", max_txn_s=0.05)
    with Database(SqliteEngine(opts)) as db:
        tr = db.engine.begin()
        tr.get(b"k")
        import time

        time.sleep(0.1)
        with pytest.raises(FlyfsError) as caught:
            tr.get(b"k")
        assert caught.value.code is Code.KV_TOO_OLD
        tr.cancel()


def test_two_engines_on_one_file_see_each_others_commits_and_conflicts(tmp_path: Path):
    config = KvConfig(sqlite_path=str(tmp_path / "kv.db"))
    with open_database(config) as one, open_database(config) as two:
        one.run(lambda tr: tr.set(b"k", b"1"))
        tr = two.engine.begin()
        assert tr.get(b"k") == b"1"
        one.run(lambda t: t.set(b"k", b"2"))
        tr.set(b"k", b"from-two")
        with pytest.raises(FlyfsError) as caught:
            tr.commit()
        assert caught.value.code is Code.KV_CONFLICT
        assert two.read(lambda t: t.get(b"k")) == b"2"
