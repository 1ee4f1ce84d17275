"""Transactions per second of the embedded KV engine, from one and from two processes.

    python bench/kv_bench.py [--seconds 2] [--dir DIR]

Each figure is whole transactions through `Database.run`/`read` (retry loop
included): a point read, a 100-key range read, and a commit of 10 sets of
100-byte values (fsynced: `synchronous=FULL`).  Targets (issue 3): >= 20,000
point reads/s and >= 2,000 commits/s from one process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import tempfile
import time
from pathlib import Path

from flyfs.kv import KvConfig, open_database

KEYS = 10_000
TARGETS = {"point read": 20_000, "range read (100 keys)": None, "commit (10 sets)": 2_000}


def populate(path: str) -> None:
    with open_database(KvConfig(sqlite_path=path)) as db:
        for start in range(0, KEYS, 1000):
            db.run(
                lambda tr, s=start: [
                    tr.set(b"k%08d" % i, os.urandom(100)) for i in range(s, s + 1000)
                ]
            )


def workload(kind: str, path: str, seconds: float, seed: int) -> int:
    rng = random.Random(seed)
    value = os.urandom(100)
    with open_database(KvConfig(sqlite_path=path)) as db:

        def point(tr):
            return tr.get(b"k%08d" % rng.randrange(KEYS))

        def scan(tr):
            start = rng.randrange(KEYS - 100)
            return tr.get_range(b"k%08d" % start, b"k%08d" % (start + 100))

        def commit(tr):
            base = rng.randrange(KEYS - 10)
            for i in range(base, base + 10):
                tr.set(b"k%08d" % i, value)

        body = {
            "point read": (db.read, point),
            "range read (100 keys)": (db.read, scan),
            "commit (10 sets)": (db.run, commit),
        }[kind]
        run, fn = body
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                run(fn)
            done += 50
        return done


def measure(kind: str, path: str, seconds: float, processes: int) -> float:
    if processes == 1:
        return workload(kind, path, seconds, 1) / seconds
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        counts = pool.starmap(workload, [(kind, path, seconds, seed) for seed in range(processes)])
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument(
        "--dir", default=None, help="where the database file goes (default: a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = str(Path(tmp) / "bench.db")
        populate(path)
        print(f"sqlite engine, {KEYS} keys of 100 bytes, {args.seconds:.0f} s per figure\n")
        header = ("transaction", "1 process /s", "2 processes /s", "target (1 process)")
        print(f"| {header[0]:<22} | {header[1]:>12} | {header[2]:>14} | {header[3]} |")
        print(f"|{'-' * 24}|{'-' * 14}|{'-' * 16}|{'-' * 20}|")
        for kind, target in TARGETS.items():
            one = measure(kind, path, args.seconds, 1)
            two = measure(kind, path, args.seconds, 2)
            verdict = (
                "" if target is None else f">= {target:,} {'met' if one >= target else 'MISSED'}"
            )
            print(f"| {kind:<22} | {one:>12,.0f} | {two:>14,.0f} | {verdict:<18} |")


if __name__ == "__main__":
    main()
