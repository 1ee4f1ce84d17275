"""What FoundationDB users observe, asserted against every available engine."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flyfs.errors import Code, FlyfsError
from flyfs.kv import counter, read_counter
from flyfs.kv.limits import MAX_KEY_BYTES, MAX_TXN_BYTES, MAX_VALUE_BYTES

WORKER = Path(__file__).with_name("kv_worker.py")


def fill(db, pairs: dict[bytes, bytes]) -> None:
    def body(tr):
        for k, v in pairs.items():
            tr.set(k, v)

    db.run(body)


# -- ordering and range scans ----------------------------------------------


def test_keys_sort_as_unsigned_bytes(db):
    keys = [b"\x00", b"a", b"a\x00", b"ab", b"a\xfe", b"b", b"\xfe\xff"]
    fill(db, {k: k for k in reversed(keys)})
    assert [k for k, _ in db.read(lambda tr: tr.get_range(b"", b"\xff"))] == keys


def test_range_is_half_open_with_limit_and_reverse(db):
    fill(db, {b"k%02d" % i: b"%d" % i for i in range(20)})
    rows = db.read(lambda tr: tr.get_range(b"k05", b"k10"))
    assert [k for k, _ in rows] == [b"k05", b"k06", b"k07", b"k08", b"k09"]
    assert db.read(lambda tr: tr.get_range(b"k05", b"k10", limit=2)) == [
        (b"k05", b"5"),
        (b"k06", b"6"),
    ]
    assert db.read(lambda tr: tr.get_range(b"k05", b"k10", limit=2, reverse=True)) == [
        (b"k09", b"9"),
        (b"k08", b"8"),
    ]
    assert db.read(lambda tr: tr.get_range(b"k10", b"k05")) == []


def test_prefix_scan_stops_at_prefix_end(db):
    fill(db, {b"dir/\xff": b"1", b"dir/a": b"2", b"dis": b"3", b"dir": b"4", b"dir0": b"5"})
    assert [k for k, _ in db.read(lambda tr: tr.get_prefix(b"dir/"))] == [b"dir/a", b"dir/\xff"]


def test_reads_see_own_writes_clears_and_adds(db):
    fill(db, {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4"})

    def body(tr):
        tr.clear_range(b"b", b"d")
        tr.set(b"bb", b"new")
        tr.add(b"n", counter(3))
        return tr.get(b"b"), tr.get(b"bb"), tr.get_range(b"a", b"z"), read_counter(tr.get(b"n"))

    b, bb, rows, n = db.run(body)
    assert (b, bb, n) == (None, b"new", 3)
    assert [k for k, _ in rows] == [b"a", b"bb", b"d", b"n"]
    assert [k for k, _ in db.read(lambda tr: tr.get_range(b"", b"\xff"))] == [
        b"a",
        b"bb",
        b"d",
        b"n",
    ]


def test_nothing_is_visible_before_commit(db):
    writer = db.engine.begin()
    writer.set(b"k", b"v")
    assert db.read(lambda tr: tr.get(b"k")) is None
    writer.commit()
    assert db.read(lambda tr: tr.get(b"k")) == b"v"


# -- isolation and conflicts -------------------------------------------------


def test_read_then_foreign_commit_conflicts(db):
    fill(db, {b"k": b"0"})
    tr = db.engine.begin()
    assert tr.get(b"k") == b"0"
    db.run(lambda t: t.set(b"k", b"1"))
    tr.set(b"other", b"x")
    with pytest.raises(FlyfsError) as caught:
        tr.commit()
    assert caught.value.code is Code.KV_CONFLICT and caught.value.retryable
    assert db.read(lambda t: t.get(b"other")) is None


def test_snapshot_read_adds_no_conflict(db):
    fill(db, {b"k": b"0"})
    tr = db.engine.begin()
    assert tr.snapshot_get(b"k") == b"0"
    db.run(lambda t: t.set(b"k", b"1"))
    tr.set(b"other", b"x")
    tr.commit()
    assert db.read(lambda t: t.get(b"other")) == b"x"


def test_reads_see_one_snapshot(db):
    fill(db, {b"a": b"0", b"b": b"0"})
    tr = db.engine.begin()
    assert tr.get(b"a") == b"0"
    db.run(lambda t: (t.set(b"a", b"1"), t.set(b"b", b"1")))
    assert tr.get(b"b") == b"0"
    tr.cancel()


def test_range_read_conflicts_with_insert_into_range(db):
    tr = db.engine.begin()
    assert tr.get_range(b"dir/", b"dir0") == []
    db.run(lambda t: t.set(b"dir/new", b"x"))
    tr.set(b"marker", b"x")
    with pytest.raises(FlyfsError) as caught:
        tr.commit()
    assert caught.value.code is Code.KV_CONFLICT


def test_limited_range_read_conflicts_only_up_to_last_key_read(db):
    fill(db, {b"r/1": b"", b"r/2": b"", b"r/3": b""})
    tr = db.engine.begin()
    assert [k for k, _ in tr.get_range(b"r/", b"r0", limit=1)] == [b"r/1"]
    db.run(lambda t: t.set(b"r/5", b"x"))
    tr.set(b"marker", b"x")
    tr.commit()


def test_clear_range_conflicts_with_reader_of_a_key_inside(db):
    fill(db, {b"c/1": b"v"})
    tr = db.engine.begin()
    assert tr.get(b"c/1") == b"v"
    db.run(lambda t: t.clear_range(b"c/", b"c0"))
    tr.set(b"marker", b"x")
    with pytest.raises(FlyfsError) as caught:
        tr.commit()
    assert caught.value.code is Code.KV_CONFLICT


def test_blind_writes_do_not_conflict(db):
    first, second = db.engine.begin(), db.engine.begin()
    first.set(b"k", b"first")
    second.set(b"k", b"second")
    first.commit()
    second.commit()
    assert db.read(lambda t: t.get(b"k")) == b"second"


def test_read_only_transaction_never_conflicts(db):
    fill(db, {b"k": b"0"})
    tr = db.engine.begin()
    tr.get(b"k")
    db.run(lambda t: t.set(b"k", b"1"))
    tr.commit()


def test_transaction_older_than_horizon_is_too_old_never_missed(kv_harness):
    with kv_harness.open_small_log() as db:
        fill(db, {b"k": b"0"})
        tr = db.engine.begin()
        tr.get(b"k")
        kv_harness.age_out(db, tr)
        with pytest.raises(FlyfsError) as caught:
            tr.set(b"k", b"stale")
            tr.commit()
        assert caught.value.code is Code.KV_TOO_OLD and caught.value.retryable
        assert db.read(lambda t: t.get(b"k")) == b"0"


def test_retry_loop_reruns_conflicting_body_until_it_commits(db):
    fill(db, {b"k": counter(0)})
    interfered = []

    def body(tr):
        value = read_counter(tr.get(b"k"))
        if not interfered:
            interfered.append(True)
            db.run(lambda t: t.set(b"k", counter(100)))
        tr.set(b"k", counter(value + 1))
        return value

    assert db.run(body) == 100
    assert read_counter(db.read(lambda t: t.get(b"k"))) == 101


# -- atomic add and multi-process races ----------------------------------------


def run_workers(harness, mode: str, processes: int, count: int) -> None:
    config = json.dumps(asdict(harness.config))
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), mode, config, str(count)])
        for _ in range(processes)
    ]
    try:
        codes = [p.wait(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert codes == [0] * processes


def test_atomic_add_from_four_processes_is_exact(kv_harness, db):
    run_workers(kv_harness, "add", 4, 1000)
    assert read_counter(db.read(lambda tr: tr.get(b"counter"))) == 4000


def test_read_modify_write_race_loses_no_update(kv_harness, db):
    run_workers(kv_harness, "rmw", 4, 150)
    assert read_counter(db.read(lambda tr: tr.get(b"rmw"))) == 600


def test_add_is_little_endian_and_wraps(db):
    fill(db, {b"short": b"\x05", b"wrap": b"\xff\xff"})

    def body(tr):
        tr.add(b"short", b"\x01\x01")
        tr.add(b"wrap", b"\x01\x00")
        tr.add(b"fresh", counter(-2))

    db.run(body)
    assert db.read(lambda tr: tr.get(b"short")) == b"\x06\x01"
    assert db.read(lambda tr: tr.get(b"wrap")) == b"\x00\x00"
    assert read_counter(db.read(lambda tr: tr.get(b"fresh"))) == -2


# -- limits and bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda tr: tr.set(b"k" * (MAX_KEY_BYTES + 1), b"v"), Code.KV_KEY_TOO_LARGE),
        (lambda tr: tr.set(b"k", b"v" * (MAX_VALUE_BYTES + 1)), Code.KV_VALUE_TOO_LARGE),
        (lambda tr: tr.get(b"k" * (MAX_KEY_BYTES + 1)), Code.KV_KEY_TOO_LARGE),
        (lambda tr: tr.set(b"\xff/system", b"v"), Code.INVALID_ARGUMENT),
    ],
)
def test_limits_give_typed_errors_and_write_nothing(db, mutate, code):
    def body(tr):
        tr.set(b"before", b"x")
        mutate(tr)

    with pytest.raises(FlyfsError) as caught:
        db.run(body)
    assert caught.value.code is code
    assert db.read(lambda tr: tr.get(b"before")) is None


def test_transaction_size_limit(db):
    value = b"v" * MAX_VALUE_BYTES

    def body(tr):
        for i in range(MAX_TXN_BYTES // MAX_VALUE_BYTES + 1):
            tr.set(b"big/%d" % i, value)

    with pytest.raises(FlyfsError) as caught:
        db.run(body)
    assert caught.value.code is Code.KV_TXN_TOO_LARGE
    assert db.read(lambda tr: tr.get_range(b"big/", b"big0", limit=1)) == []


@pytest.mark.parametrize("bad", ["text", 42, None, bytearray(b"k")])
def test_non_bytes_keys_and_values_are_type_errors(db, bad):
    with pytest.raises(TypeError, match="must be bytes"):
        db.run(lambda tr: tr.set(bad, b"v"))
    with pytest.raises(TypeError, match="must be bytes"):
        db.run(lambda tr: tr.set(b"k", bad))
    assert db.read(lambda tr: tr.get(b"k")) is None


def test_committed_transaction_cannot_be_reused(db):
    tr = db.engine.begin()
    tr.set(b"k", b"v")
    tr.commit()
    with pytest.raises(FlyfsError) as caught:
        tr.set(b"k", b"again")
    assert caught.value.code is Code.KV_USED_AFTER_COMMIT


# -- durability and concurrency -------------------------------------------------------


def test_commit_survives_sigkill_and_uncommitted_leaves_nothing(kv_harness):
    config = json.dumps(asdict(kv_harness.config))
    child = subprocess.Popen(
        [sys.executable, str(WORKER), "crash", config, "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "committed"
        assert child.stdout.readline().strip() == "pending"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    with kv_harness.open() as db:
        assert db.read(lambda tr: tr.get(b"durable")) == b"yes"
        assert db.read(lambda tr: tr.get(b"pending")) is None
        db.run(lambda tr: tr.set(b"after", b"ok"))
        assert db.read(lambda tr: tr.get(b"after")) == b"ok"


def test_readers_see_whole_commits_while_a_writer_runs(db):
    keys = [b"pair/a", b"pair/b"]
    fill(db, {k: counter(0) for k in keys})
    stop = threading.Event()
    torn: list[tuple[int, int]] = []

    def reader():
        for _ in range(2000):
            if stop.is_set():
                return
            a, b = db.read(lambda tr: [read_counter(tr.get(k)) for k in keys])
            if a != b:
                torn.append((a, b))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(1, 201):
        db.run(lambda tr, i=i: [tr.set(k, counter(i)) for k in keys])
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert torn == []
    assert [read_counter(v) for _, v in db.read(lambda tr: tr.get_prefix(b"pair/"))] == [200, 200]


def test_async_face_runs_bodies_off_the_loop(db):
    async def main():
        threads = await asyncio.gather(
            *(
                db.run_async(lambda tr, i=i: (tr.set(b"a/%d" % i, b"x"), threading.get_ident())[1])
                for i in range(20)
            )
        )
        return threads, await db.read_async(lambda tr: tr.get_prefix(b"a/"))

    threads, rows = asyncio.run(main())
    assert threading.get_ident() not in threads
    assert len(rows) == 20


# -- a model check: random operations against a dict ------------------------------------

KEYS = st.sampled_from([b"a", b"a\x00", b"b", b"ba", b"c", b"d"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.binary(max_size=3)),
        st.tuples(st.just("clear"), KEYS),
        st.tuples(st.just("clear_range"), KEYS, KEYS),
        st.tuples(st.just("add"), KEYS, st.integers(-3, 3)),
        st.tuples(st.just("get"), KEYS, st.booleans()),
        st.tuples(st.just("range"), KEYS, KEYS, st.integers(0, 3), st.booleans(), st.booleans()),
        st.tuples(st.just("commit")),
    ),
    max_size=40,
)


def model_add(old: bytes | None, delta: int) -> bytes:
    base = int.from_bytes((old or b"")[:8].ljust(8, b"\x00"), "little")
    return ((base + delta) % 2**64).to_bytes(8, "little")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(initial=st.dictionaries(KEYS, st.binary(max_size=3)), ops=OPS)
def test_matches_a_dict_model(db, initial, ops):
    db.run(lambda tr: tr.clear_range(b"", b"\xff"))
    fill(db, initial)
    committed = dict(initial)
    local = dict(committed)
    tr = db.engine.begin()
    for op in ops:
        kind = op[0]
        if kind == "set":
            tr.set(op[1], op[2])
            local[op[1]] = op[2]
        elif kind == "clear":
            tr.clear(op[1])
            local.pop(op[1], None)
        elif kind == "clear_range":
            tr.clear_range(op[1], op[2])
            local = {k: v for k, v in local.items() if not op[1] <= k < op[2]}
        elif kind == "add":
            tr.add(op[1], counter(op[2]))
            local[op[1]] = model_add(local.get(op[1]), op[2])
        elif kind == "get":
            got = tr.snapshot_get(op[1]) if op[2] else tr.get(op[1])
            assert got == local.get(op[1])
        elif kind == "range":
            _, begin, end, limit, reverse, snapshot = op
            read = tr.snapshot_get_range if snapshot else tr.get_range
            expect = sorted(((k, v) for k, v in local.items() if begin <= k < end), reverse=reverse)
            assert read(begin, end, limit=limit, reverse=reverse) == expect[: limit or None]
        else:
            tr.commit()
            committed = dict(local)
            tr = db.engine.begin()
    tr.cancel()
    assert dict(db.read(lambda t: t.get_range(b"", b"\xff"))) == committed


def test_threads_committing_at_once_lose_no_update(db):
    """Concurrent commits from one process (batched by the embedded engine) stay serializable."""

    def bump(tr, key):
        tr.set(key, counter(read_counter(tr.get(key)) + 1))

    def worker(i):
        for n in range(60):
            db.run(lambda tr: bump(tr, b"shared"))
            db.run(lambda tr, n=n: tr.set(b"own/%d/%d" % (i, n), b"x"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert read_counter(db.read(lambda tr: tr.get(b"shared"))) == 8 * 60
    assert len(db.read(lambda tr: tr.get_prefix(b"own/"))) == 8 * 60
