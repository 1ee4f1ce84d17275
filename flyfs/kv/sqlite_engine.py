"""The embedded engine: FoundationDB's transaction model on one SQLite file.

Optimistic, like FDB, not one big lock:

- A transaction reads inside a SQLite read transaction, so every read sees
  one WAL snapshot; the commit version of that snapshot is its read version.
  Each serializable read records the key range it read.
- Mutations are buffered (`WriteBuffer`) and visible to the transaction's
  own reads.  A read-only transaction commits nothing and checks nothing.
- Commit ends the snapshot and hands the transaction to the engine's
  committer thread (`group_commit.py`), which takes SQLite's write lock for
  a batch of waiting commits.  Under it, each one's read ranges are checked
  against the commit log: the write-conflict ranges of every commit newer
  than its read version, earlier members of the batch included.  An overlap
  raises the retryable conflict error (FDB's 1020); otherwise its mutations
  and conflict ranges are written and the version counter advances.  One
  fsync makes the whole batch durable.
- The log keeps `log_retention_s` (longer than the 5 s transaction limit)
  and at most `log_max_versions` commits.  A transaction whose read version
  is older than the log's horizon cannot be checked, so it gets the
  retryable too-old error (FDB's 1007), never a missed conflict.

Several processes may share the file: the version counter, the log and the
data all live in it, and SQLite's lock orders their commits.  Durability is
WAL with `synchronous=FULL`: a commit that returned survives SIGKILL and
power loss.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from flyfs.errors import Code, FlyfsError, error

from .api import Engine, EngineTransaction, KeyValue, key_after
from .group_commit import GroupCommitter, LogPolicy, Member
from .limits import MAX_TXN_SECONDS, SizeMeter, check_key, check_range_end, check_value
from .write_buffer import WriteBuffer

FORMAT = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS commit_log (version INTEGER NOT NULL, begin_key BLOB NOT NULL,"
    " end_key BLOB NOT NULL, committed_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS commit_log_by_version ON commit_log (version)",
    f"INSERT OR IGNORE INTO state VALUES ('format', {FORMAT}), ('version', 0), ('horizon', 0)",
)


@dataclass(frozen=True)
class SqliteOptions:
    path: Path
    busy_timeout_s: float = 10.0
    log_retention_s: float = 10.0
    log_max_versions: int = 100_000
    # Pruning the log is amortised over this many commits.
    prune_every: int = 64
    max_txn_s: float = MAX_TXN_SECONDS


def _translate(exc: sqlite3.Error, path: Path) -> FlyfsError:
    """SQLite's errors in the layer's terms; the original stays as `__cause__`."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return error(Code.KV_BUSY, f"sqlite write lock not acquired: {text}", str(path))
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return error(Code.KV_CORRUPT, f"sqlite database is unreadable: {text}", str(path))
    return error(Code.INTERNAL, f"sqlite: {text}", str(path))


class SqliteEngine(Engine):
    name = "sqlite"
    inline_bodies = True

    def __init__(self, options: SqliteOptions):
        self.options = options
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False
        self.committer = GroupCommitter(
            self._connect,
            LogPolicy(options.log_retention_s, options.log_max_versions, options.prune_every),
            lambda exc: _translate(exc, options.path),
        )
        options.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        self._idle.put(conn)

    def _connect(self) -> sqlite3.Connection:
        path = self.options.path
        try:
            conn = sqlite3.connect(
                path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.options.busy_timeout_s,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise _translate(exc, path) from exc
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        path = self.options.path
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
                if tables and "state" not in tables:
                    raise error(Code.KV_CORRUPT, "not a flyfs KV file (no state table)", str(path))
                for statement in _SCHEMA:
                    conn.execute(statement)
                fmt = conn.execute("SELECT value FROM state WHERE name='format'").fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _translate(exc, path) from exc
        if fmt is None or fmt[0] != FORMAT:
            raise error(Code.KV_CORRUPT, f"unknown flyfs KV format {fmt!r}", str(path))

    def begin(self) -> SqliteTransaction:
        if self._closed:
            raise error(Code.KV_USED_AFTER_COMMIT, "the database is closed", str(self.options.path))
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        return SqliteTransaction(self, conn)

    def release(self, conn: sqlite3.Connection) -> None:
        if self._closed:
            conn.close()
        else:
            self._idle.put(conn)

    def close(self) -> None:
        self._closed = True
        self.committer.close()
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class SqliteTransaction(EngineTransaction):
    def __init__(self, engine: SqliteEngine, conn: sqlite3.Connection):
        self._engine = engine
        self._conn: sqlite3.Connection | None = conn
        self._opts = engine.options
        self._started = time.monotonic()
        self._writes = WriteBuffer()
        self._read_ranges: list[tuple[bytes, bytes]] = []
        self._size = SizeMeter()
        try:
            conn.execute("BEGIN")
            # The first read fixes the WAL snapshot every later read of this transaction sees.
            self._read_version = conn.execute(
                "SELECT value FROM state WHERE name='version'"
            ).fetchone()[0]
        except sqlite3.Error as exc:
            self.cancel()
            raise _translate(exc, self._opts.path) from exc

    # -- reads -------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise error(Code.KV_USED_AFTER_COMMIT, "transaction already committed or cancelled")
        if time.monotonic() - self._started > self._opts.max_txn_s:
            raise error(Code.KV_TOO_OLD, f"transaction older than {self._opts.max_txn_s} s")
        return self._conn

    def _stored(self, key: bytes) -> bytes | None:
        try:
            row = self._live().execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, self._opts.path) from exc
        return None if row is None else row[0]

    def _scan(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        order = "DESC" if reverse else "ASC"
        sql = f"SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key {order}"
        try:
            if limit and not self._writes.touches(begin, end):
                yield from self._live().execute(sql + " LIMIT ?", (begin, end, limit)).fetchall()
            else:
                yield from self._live().execute(sql, (begin, end))
        except sqlite3.Error as exc:
            raise _translate(exc, self._opts.path) from exc

    def _read(self, key: bytes, snapshot: bool) -> bytes | None:
        check_key(key)
        self._live()
        is_known, value = self._writes.known(key)
        if is_known:
            return value
        if not snapshot:
            self._add_read_range(key, key_after(key))
        # A serializable read may fold pending adds into a plain value (its read
        # conflict guards it); a snapshot read must leave them atomic.
        return self._writes.resolve(key, self._stored(key), fold=not snapshot)

    def _read_range(
        self, begin: bytes, end: bytes, limit: int, reverse: bool, snapshot: bool
    ) -> list[KeyValue]:
        check_key(begin, "range begin")
        check_range_end(end)
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if begin >= end:
            return []
        added = {key: self._read(key, snapshot) for key in self._writes.pending_adds_in(begin, end)}
        rows = self._writes.overlay(
            begin,
            end,
            self._scan(begin, end, limit, reverse),
            added=added,
            limit=limit,
            reverse=reverse,
        )
        if not snapshot:
            # A scan cut short by its limit read only up to its last key (as FDB records it).
            if limit and len(rows) == limit:
                last = rows[-1][0]
                begin, end = (last, end) if reverse else (begin, key_after(last))
            self._add_read_range(begin, end)
        return rows

    def _add_read_range(self, begin: bytes, end: bytes) -> None:
        self._size.charge(len(begin) + len(end))
        self._read_ranges.append((begin, end))

    def get(self, key: bytes) -> bytes | None:
        return self._read(key, snapshot=False)

    def snapshot_get(self, key: bytes) -> bytes | None:
        return self._read(key, snapshot=True)

    def get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        return self._read_range(begin, end, limit, reverse, snapshot=False)

    def snapshot_get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        return self._read_range(begin, end, limit, reverse, snapshot=True)

    # -- mutations ---------------------------------------------------------

    def set(self, key: bytes, value: bytes) -> None:
        check_key(key)
        check_value(value)
        self._live()
        self._size.charge(len(key) + len(value))
        self._writes.set(key, value)

    def clear(self, key: bytes) -> None:
        check_key(key)
        self._live()
        self._size.charge(len(key))
        self._writes.clear(key)

    def clear_range(self, begin: bytes, end: bytes) -> None:
        check_key(begin, "range begin")
        check_range_end(end)
        self._live()
        if begin < end:
            self._size.charge(len(begin) + len(end))
            self._writes.clear_range(begin, end)

    def add(self, key: bytes, param: bytes) -> None:
        check_key(key)
        check_value(param)
        self._live()
        self._size.charge(len(key) + len(param))
        self._writes.add(key, param)

    # -- commit ------------------------------------------------------------

    def _submit(self) -> Future[None] | None:
        """End the read snapshot and queue the mutations, if any, for the committer."""
        conn = self._live()
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _translate(exc, self._opts.path) from exc
        finally:
            self.cancel()
        if not self._writes:
            return None
        return self._engine.committer.submit(
            Member(self._read_version, self._read_ranges, self._writes)
        )

    def commit(self) -> None:
        done = self._submit()
        if done is not None:
            done.result()

    async def commit_async(self) -> None:
        done = self._submit()
        if done is not None:
            await asyncio.wrap_future(done)

    def cancel(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                conn.close()
                return
        self._engine.release(conn)
