"""Unit test of the FoundationDB adapter against a fake of exactly the `fdb` calls it uses.

This is not conformance (that runs in test_conformance.py when a cluster file
is given): it pins how FDB's error codes become the layer's errors and what
the retry loop then does with them, which no real cluster lets us force.
"""

from __future__ import annotations

import types

import fdb as real_fdb
import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.kv import Database, KvConfig, RetryPolicy, open_database
from flyfs.kv.fdb_engine import FdbEngine, load_fdb


class FakeFDBError(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class Future:
    def __init__(self, value=None, fail: int | None = None):
        self.value, self.fail = value, fail

    def wait(self):
        if self.fail is not None:
            raise FakeFDBError(self.fail)
        return self.value


class Range:
    def __init__(self, rows):
        self.rows = rows

    def to_list(self):
        return [types.SimpleNamespace(key=k, value=v) for k, v in self.rows]


class FakeReader:
    def __init__(self, store: dict[bytes, bytes]):
        self.store = store

    def get(self, key):
        return Future(self.store.get(key))

    def get_range(self, begin, end, limit=0, reverse=False):
        rows = sorted(((k, v) for k, v in self.store.items() if begin <= k < end), reverse=reverse)
        return Range(rows[: limit or None])


class FakeTransaction(FakeReader):
    def __init__(self, db):
        super().__init__(db.store)
        self.db = db
        self.snapshot = FakeReader(db.store)
        self.pending: dict[bytes, bytes] = {}
        self.cancelled = False

    def set(self, key, value):
        self.pending[key] = value

    def clear(self, key):
        self.pending[key] = None

    def clear_range(self, begin, end):
        for key in [k for k in self.store if begin <= k < end]:
            self.pending[key] = None

    def add(self, key, param):
        self.pending[key] = param

    def commit(self):
        fail = self.db.commit_failures.pop(0) if self.db.commit_failures else None
        if fail is None:
            for k, v in self.pending.items():
                if v is None:
                    self.store.pop(k, None)
                else:
                    self.store[k] = v
        self.db.commits += 1
        return Future(fail=fail)

    def cancel(self):
        self.cancelled = True


class FakeDatabase:
    def __init__(self):
        self.store: dict[bytes, bytes] = {}
        self.commit_failures: list[int | None] = []
        self.commits = 0

    def create_transaction(self):
        return FakeTransaction(self)


@pytest.fixture
def fake():
    database = FakeDatabase()
    module = types.SimpleNamespace(FDBError=FakeFDBError, open=lambda cluster_file: database)
    engine = FdbEngine("fake.cluster", key_prefix=b"p/", fdb=module)
    policy = RetryPolicy(max_attempts=4, first_backoff_s=0.0001, max_backoff_s=0.0001)
    return database, Database(engine, policy=policy)


@pytest.mark.parametrize("code", [1020, 1007])
def test_not_committed_and_too_old_are_retried(fake, code):
    store, db = fake
    store.commit_failures = [code, None]
    db.run(lambda tr: tr.set(b"k", b"v"))
    assert store.commits == 2 and store.store == {b"p/k": b"v"}


def test_commit_unknown_result_is_not_retried_unless_idempotent(fake):
    store, db = fake
    store.commit_failures = [1021]
    with pytest.raises(FlyfsError) as caught:
        db.run(lambda tr: tr.set(b"k", b"v"))
    assert caught.value.code is Code.KV_COMMIT_UNKNOWN
    assert isinstance(caught.value.__cause__, FakeFDBError) and caught.value.__cause__.code == 1021
    store.commit_failures = [1021, None]
    db.run(lambda tr: tr.set(b"k", b"v"), idempotent=True)
    assert store.commits == 3


def test_transaction_too_large_is_a_typed_error_at_once(fake):
    store, db = fake
    store.commit_failures = [2101, None]
    with pytest.raises(FlyfsError) as caught:
        db.run(lambda tr: tr.set(b"k", b"v"))
    assert caught.value.code is Code.KV_TXN_TOO_LARGE and store.commits == 1


def test_unknown_fdb_error_is_internal_and_not_retried(fake):
    store, db = fake
    store.commit_failures = [4100, None]
    with pytest.raises(FlyfsError) as caught:
        db.run(lambda tr: tr.set(b"k", b"v"))
    assert caught.value.code is Code.INTERNAL and "4100" in str(caught.value)


def test_keys_live_under_the_prefix_and_come_back_without_it(fake):
    store, db = fake
    db.run(lambda tr: [tr.set(b"a/%d" % i, b"%d" % i) for i in range(3)])
    assert sorted(store.store) == [b"p/a/0", b"p/a/1", b"p/a/2"]
    assert db.read(lambda tr: tr.get_prefix(b"a/", limit=2, reverse=True)) == [
        (b"a/2", b"2"),
        (b"a/1", b"1"),
    ]
    assert db.read(lambda tr: tr.snapshot_get(b"a/0")) == b"0"
    db.run(lambda tr: tr.clear_range(b"a/1", b"\xff"))
    assert sorted(store.store) == [b"p/a/0"]


def test_limits_are_checked_before_fdb_sees_the_call(fake):
    store, db = fake
    with pytest.raises(FlyfsError) as caught:
        db.run(lambda tr: tr.set(b"k" * 10_001, b"v"))
    assert caught.value.code is Code.KV_KEY_TOO_LARGE and store.commits == 0


def test_missing_client_library_is_a_clear_error(monkeypatch):
    def no_library(version):
        raise Exception("Unable to locate the FoundationDB API shared library!")

    monkeypatch.setattr(real_fdb, "api_version", no_library)
    with pytest.raises(FlyfsError) as caught:
        load_fdb()
    assert caught.value.code is Code.KV_UNAVAILABLE
    assert "libfdb_c" in str(caught.value)


@pytest.mark.parametrize(
    "config, words",
    [
        (KvConfig(engine="foundationdb"), "fdb_cluster_file"),
        (KvConfig(engine="rocks"), "expected one of"),
    ],
)
def test_bad_engine_config_is_refused(config, words):
    with pytest.raises(FlyfsError) as caught:
        open_database(config)
    assert caught.value.code is Code.INVALID_ARGUMENT and words in str(caught.value)
