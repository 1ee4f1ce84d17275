"""The embedded engine's commit protocol, with group commit.

Commits are serialized by SQLite's write lock.  Under it a transaction is
checked against the commit log (the write-conflict ranges of every commit
newer than its read version), and if nothing it read has changed, its
mutations and its own conflict ranges are written and the version counter
advances.

With `synchronous=FULL` every SQLite commit pays an fsync, and every
statement hands Python's GIL back and forth with the event loop thread
(measured: ~60 µs a statement under load), so committing transactions one
by one capped a meta server at ~1,000 creates/s.  So the first thread to
commits go to one committer thread per engine, which takes every commit
queued so far and applies them in order inside one `BEGIN IMMEDIATE ...
COMMIT`, reading the log once and checking conflicts in memory.  Callers
wait on a future: a worker thread blocks on it, an event loop awaits it
(no thread hop for the loop at all).  Each member still gets its own version
and is checked against the log *and the members before it*, so the outcome
is exactly the serial order of the queue.  A member that conflicts is
skipped (nothing of it is written); a failure of the batch as a whole (an
I/O error, a failed COMMIT) fails every member.
"""

from __future__ import annotations

import bisect
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from flyfs.errors import Code, FlyfsError, error

from .api import add_le, key_after
from .write_buffer import WriteBuffer

MAX_BATCH = 256


@dataclass(eq=False)
class Member:
    read_version: int
    read_ranges: list[tuple[bytes, bytes]]
    writes: WriteBuffer
    error: BaseException | None = None
    future: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class LogPolicy:
    retention_s: float
    max_versions: int
    prune_every: int


class RecentWrites:
    """Write-conflict ranges of commits newer than some version, searchable.

    Point writes (the common case) sit in a dict and a sorted key list, so a
    point read is one lookup and a range read one bisect; ranged writes
    (clear_range) are few and scanned.
    """

    def __init__(self) -> None:
        self.points: dict[bytes, int] = {}
        self.sorted_points: list[bytes] = []
        self.ranges: list[tuple[int, bytes, bytes]] = []

    def add(self, version: int, begin: bytes, end: bytes) -> None:
        if end == key_after(begin):
            if begin not in self.points:
                bisect.insort(self.sorted_points, begin)
            self.points[begin] = max(version, self.points.get(begin, 0))
        else:
            self.ranges.append((version, begin, end))

    def conflict(self, read_version: int, begin: bytes, end: bytes) -> int | None:
        """The version of a newer write overlapping `[begin, end)`, if any."""
        if end == key_after(begin):
            version = self.points.get(begin, 0)
            if version > read_version:
                return version
        else:
            at = bisect.bisect_left(self.sorted_points, begin)
            while at < len(self.sorted_points) and self.sorted_points[at] < end:
                version = self.points[self.sorted_points[at]]
                if version > read_version:
                    return version
                at += 1
        for version, b, e in self.ranges:
            if version > read_version and b < end and begin < e:
                return version
        return None


class GroupCommitter:
    """One committer thread per engine; callers queue members and wait on futures."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        policy: LogPolicy,
        translate: Callable[[sqlite3.Error], FlyfsError],
    ):
        self._connect = connect
        self._policy = policy
        self._translate = translate
        self._queue: queue.SimpleQueue[Member | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, member: Member) -> Future[None]:
        """Queue `member`; the future resolves once its batch is durable (or fails)."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._serve, name="kv-commit", daemon=True
                    )
                    self._thread.start()
        self._queue.put(member)
        return member.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _serve(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(more)
                # A caller that gave up (cancelled) before its batch runs is dropped,
                # nothing applied; once running, its future can no longer be
                # cancelled, so setting the outcome below cannot fail.
                batch = [m for m in batch if m.future.set_running_or_notify_cancel()]
                if not batch:
                    continue
                self._run(conn, batch)
                for member in batch:
                    if member.error is None:
                        member.future.set_result(None)
                    else:
                        member.future.set_exception(member.error)
        finally:
            conn.close()

    def _run(self, conn: sqlite3.Connection, batch: list[Member]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._apply_batch(conn, batch)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException as exc:
            failure = self._translate(exc) if isinstance(exc, sqlite3.Error) else exc
            for member in batch:
                member.error = failure

    def _apply_batch(self, conn: sqlite3.Connection, batch: list[Member]) -> None:
        rows = conn.execute("SELECT name, value FROM state WHERE name IN ('version', 'horizon')")
        state = dict(rows)
        first_version = version = state["version"]
        horizon = state["horizon"]
        recent = RecentWrites()
        oldest = min(m.read_version for m in batch)
        if version > oldest:
            for row in conn.execute(
                "SELECT version, begin_key, end_key FROM commit_log WHERE version > ?", (oldest,)
            ):
                recent.add(*row)
        now = time.time()
        log_rows: list[tuple[int, bytes, bytes, float]] = []
        for member in batch:
            member.error = self._check(member, horizon, recent)
            if member.error is not None:
                continue
            _write(conn, member.writes)
            version += 1
            for begin, end in member.writes.conflict_ranges():
                recent.add(version, begin, end)
                log_rows.append((version, begin, end, now))
        if version == first_version:
            return
        conn.executemany("INSERT INTO commit_log VALUES (?, ?, ?, ?)", log_rows)
        conn.execute("UPDATE state SET value=? WHERE name='version'", (version,))
        every = self._policy.prune_every
        if version // every != first_version // every:
            self._prune(conn, version, horizon, now)

    @staticmethod
    def _check(member: Member, horizon: int, recent: RecentWrites) -> FlyfsError | None:
        if member.read_version < horizon:
            return error(
                Code.KV_TOO_OLD,
                f"read version {member.read_version} is older than the conflict log's"
                f" horizon {horizon}",
            )
        for begin, end in member.read_ranges:
            hit = recent.conflict(member.read_version, begin, end)
            if hit is not None:
                return error(
                    Code.KV_CONFLICT,
                    f"a commit at version {hit} wrote what this transaction read"
                    f" in [{begin[:24]!r}, {end[:24]!r})",
                )
        return None

    def _prune(self, conn: sqlite3.Connection, version: int, horizon: int, now: float) -> None:
        """Drop log entries past the count bound, or older than the retention."""
        new_horizon = max(horizon, version - self._policy.max_versions)
        cutoff = now - self._policy.retention_s
        # Versions grow with time: bisect for the newest version committed before the cutoff.
        low, high = new_horizon, version
        while low < high:
            mid = (low + high + 1) // 2
            row = conn.execute(
                "SELECT committed_at FROM commit_log WHERE version >= ? ORDER BY version LIMIT 1",
                (mid,),
            ).fetchone()
            if row is not None and row[0] < cutoff:
                low = mid
            else:
                high = mid - 1
        new_horizon = max(new_horizon, low)
        if new_horizon > horizon:
            conn.execute("DELETE FROM commit_log WHERE version <= ?", (new_horizon,))
            conn.execute("UPDATE state SET value=? WHERE name='horizon'", (new_horizon,))


def _write(conn: sqlite3.Connection, writes: WriteBuffer) -> None:
    """Apply one transaction's net mutations: cleared ranges, then points, then adds."""
    for begin, end in writes.cleared:
        conn.execute("DELETE FROM kv WHERE key >= ? AND key < ?", (begin, end))
    deleted = [(k,) for k, v in writes.points.items() if v is None]
    if deleted:
        conn.executemany("DELETE FROM kv WHERE key=?", deleted)
    conn.executemany(
        "INSERT OR REPLACE INTO kv VALUES (?, ?)",
        [(k, v) for k, v in writes.points.items() if v is not None],
    )
    for key, params in writes.adds.items():
        row = conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        value = None if row is None else row[0]
        for param in params:
            value = add_le(value, param)
        conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))
