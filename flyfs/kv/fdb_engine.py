"""The FoundationDB engine: the real thing, through the official `fdb` bindings.

It is a thin adapter.  FDB already has the semantics the layer promises, so
this module only (a) checks the same limits the embedded engine checks, so
errors read the same everywhere, (b) keeps flyfs inside an optional key
prefix, so several clusters (or a test run) can share one FDB, and (c) turns
`fdb.FDBError` codes into the layer's errors, whose `retryable` flags are
what the one retry loop (`retry.py`) decides on.  FDB's own `on_error`
retry loop is not used: one loop, one policy, for every engine.
"""

from __future__ import annotations

import threading
from types import ModuleType

from flyfs.errors import Code, error

from .api import Engine, EngineTransaction, KeyValue
from .limits import SizeMeter, check_key, check_range_end, check_value

API_VERSION = 730

# FDB error codes -> the layer's codes.  Anything not listed is a bug or an
# outage worth surfacing, not retrying blindly.
FDB_CODES: dict[int, Code] = {
    1004: Code.KV_BUSY,  # timed_out
    1007: Code.KV_TOO_OLD,  # transaction_too_old
    1009: Code.KV_BUSY,  # future_version
    1020: Code.KV_CONFLICT,  # not_committed
    1021: Code.KV_COMMIT_UNKNOWN,  # commit_unknown_result
    1037: Code.KV_BUSY,  # process_behind
    1039: Code.KV_COMMIT_UNKNOWN,  # cluster_version_changed
    1213: Code.KV_BUSY,  # tag_throttled
    2101: Code.KV_TXN_TOO_LARGE,  # transaction_too_large
    2102: Code.KV_KEY_TOO_LARGE,  # key_too_large
    2103: Code.KV_VALUE_TOO_LARGE,  # value_too_large
}

_load_lock = threading.Lock()


def load_fdb() -> ModuleType:
    """Import `fdb` at API 730, or explain what is missing."""
    with _load_lock:
        try:
            import fdb
        except ImportError as exc:
            raise error(
                Code.KV_UNAVAILABLE, "the `foundationdb` Python package is not installed"
            ) from exc
        try:
            fdb.api_version(API_VERSION)
        except Exception as exc:  # the binding raises a bare Exception when libfdb_c is absent
            raise error(
                Code.KV_UNAVAILABLE,
                f"FoundationDB client library libfdb_c could not be loaded ({exc}); install"
                " the foundationdb-clients package matching your cluster, or use the sqlite engine",
            ) from exc
        return fdb


def translate(exc: Exception, fdb: ModuleType) -> Exception:
    """The layer's error for an FDB error; other exceptions pass unchanged."""
    if not isinstance(exc, fdb.FDBError):
        return exc
    code = FDB_CODES.get(exc.code, Code.INTERNAL)
    flyfs_exc = error(code, f"foundationdb error {exc.code}: {exc}")
    flyfs_exc.__cause__ = exc
    return flyfs_exc


class FdbEngine(Engine):
    name = "foundationdb"

    def __init__(
        self, cluster_file: str, *, key_prefix: bytes = b"", fdb: ModuleType | None = None
    ):
        self._fdb = fdb or load_fdb()
        self.key_prefix = key_prefix
        try:
            self._db = self._fdb.open(cluster_file)
        except Exception as exc:
            raise translate(exc, self._fdb) from exc

    def begin(self) -> FdbTransaction:
        return FdbTransaction(self._fdb, self._db.create_transaction(), self.key_prefix)

    def close(self) -> None:
        """The bindings keep one network thread per process; nothing to release here."""


class FdbTransaction(EngineTransaction):
    def __init__(self, fdb: ModuleType, tr: object, prefix: bytes):
        self._fdb = fdb
        self._tr = tr
        self._prefix = prefix
        self._size = SizeMeter()
        self._done = False

    def _call(self, fn, *args, **kwargs):
        if self._done:
            raise error(Code.KV_USED_AFTER_COMMIT, "transaction already committed or cancelled")
        try:
            return fn(*args, **kwargs)
        except self._fdb.FDBError as exc:
            raise translate(exc, self._fdb) from exc

    def _key(self, key: bytes, what: str = "key") -> bytes:
        return self._prefix + check_key(key, what)

    def _end(self, end: bytes) -> bytes:
        return self._prefix + check_range_end(end)

    def _range(self, reader, begin: bytes, end: bytes, limit: int, reverse: bool) -> list[KeyValue]:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        b, e = self._key(begin, "range begin"), self._end(end)
        if begin >= end:
            return []
        cut = len(self._prefix)
        rows = self._call(lambda: reader.get_range(b, e, limit=limit, reverse=reverse).to_list())
        return [(bytes(kv.key)[cut:], bytes(kv.value)) for kv in rows]

    def get(self, key: bytes) -> bytes | None:
        k = self._key(key)
        return self._call(lambda: self._tr.get(k).wait())

    def snapshot_get(self, key: bytes) -> bytes | None:
        k = self._key(key)
        return self._call(lambda: self._tr.snapshot.get(k).wait())

    def get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        return self._range(self._tr, begin, end, limit, reverse)

    def snapshot_get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        return self._range(self._tr.snapshot, begin, end, limit, reverse)

    def set(self, key: bytes, value: bytes) -> None:
        k, v = self._key(key), check_value(value)
        self._size.charge(len(key) + len(value))
        self._call(self._tr.set, k, v)

    def clear(self, key: bytes) -> None:
        k = self._key(key)
        self._size.charge(len(key))
        self._call(self._tr.clear, k)

    def clear_range(self, begin: bytes, end: bytes) -> None:
        b, e = self._key(begin, "range begin"), self._end(end)
        if begin < end:
            self._size.charge(len(begin) + len(end))
            self._call(self._tr.clear_range, b, e)

    def add(self, key: bytes, param: bytes) -> None:
        k, p = self._key(key), check_value(param)
        self._size.charge(len(key) + len(param))
        self._call(self._tr.add, k, p)

    def commit(self) -> None:
        self._call(lambda: self._tr.commit().wait())
        self._done = True

    def cancel(self) -> None:
        if not self._done:
            self._done = True
            try:
                self._tr.cancel()
            except self._fdb.FDBError as exc:
                raise translate(exc, self._fdb) from exc
