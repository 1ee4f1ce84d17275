"""Two meta servers on one SQLite file, racing mutations in one directory, then fsck.

Several client threads hammer both servers with creates, renames and
unlinks of a small set of names (so they collide); at the end fsck must
find a namespace where every entry matches an inode, every live inode is
named once, and nlink is right.  Then the same with a meta server killed
by SIGKILL in the middle: its half-done requests leave nothing behind.
"""

from __future__ import annotations

import random
import signal
import threading
import time

from meta_harness import MetaCaller, start_meta

from flyfs.errors import Code, FlyfsError
from flyfs.proto import meta_pb2

NAMES = [f"n{i}" for i in range(8)]
DIRS = ["a", "b", "a/n0"]  # across directories, and into a directory that comes and goes
OPS = 200


def churn(address: str, base: str, seed: int, count: int, errors: list) -> None:
    rng = random.Random(seed)
    meta = MetaCaller(address)
    try:
        for _ in range(count):
            a = f"{rng.choice(DIRS)}/{rng.choice(NAMES)}"
            b = f"{rng.choice(DIRS)}/{rng.choice(NAMES)}"
            op = rng.random()
            try:
                if op < 0.4:
                    meta.create(f"{base}/{a}", exclusive=rng.random() < 0.5)
                elif op < 0.55:
                    meta.mkdir(f"{base}/{a}")
                elif op < 0.8:
                    meta.call(
                        "Rename", meta_pb2.RenameRequest(src=f"{base}/{a}", dst=f"{base}/{b}")
                    )
                elif op < 0.95:
                    meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/{a}"))
                else:
                    meta.call("Rmdir", meta_pb2.RmdirRequest(path=f"{base}/{a}"))
            except FlyfsError as exc:
                if exc.code in (Code.UNAVAILABLE, Code.INTERNAL):  # the server died, or a bug
                    errors.append(exc)
                    return
                # EEXIST, ENOENT, EISDIR, ... are expected outcomes of the race
    finally:
        meta.close()


def run_clients(addresses: list[str], base: str, threads_per_server: int, ops: int) -> list:
    errors: list = []
    threads = [
        threading.Thread(target=churn, args=(address, base, seed * 31 + i, ops, errors))
        for seed, address in enumerate(addresses)
        for i in range(threads_per_server)
    ]
    for t in threads:
        t.start()
    return threads, errors


def test_two_servers_racing_leave_a_consistent_namespace(tmp_path):
    one = start_meta(tmp_path, "meta-1")
    two = start_meta(tmp_path, "meta-2")
    try:
        for d in ("/race/a", "/race/b"):
            MetaCaller(one.address).mkdir(d, parents=True)
        threads, errors = run_clients([one.address, two.address], "/race", 3, OPS // 6 * 6)
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        checker = MetaCaller(two.address)
        report = checker.fsck()
        assert list(report.problems) == [], report.problems
        listed = checker.names("/race/a") + checker.names("/race/b")
        assert set(listed) <= set(NAMES)
        assert report.entries >= len(listed) + 3
        checker.close()
    finally:
        one.stop()
        two.stop()


def test_sigkill_of_a_meta_server_mid_load_leaves_a_consistent_namespace(tmp_path):
    victim = start_meta(tmp_path, "meta-1")
    survivor = start_meta(tmp_path, "meta-2")
    try:
        for d in ("/race/a", "/race/b"):
            MetaCaller(survivor.address).mkdir(d, parents=True)
        threads, errors = run_clients([victim.address, survivor.address], "/race", 3, 2000)
        time.sleep(0.5)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=120)
        assert all(not t.is_alive() for t in threads)
        assert errors and all(e.code is Code.UNAVAILABLE for e in errors), errors
        report = MetaCaller(survivor.address).fsck()
        assert list(report.problems) == [], report.problems
        restarted = start_meta(tmp_path, "meta-1")
        assert list(MetaCaller(restarted.address).fsck().problems) == []
        restarted.stop()
    finally:
        victim.proc.close_parent_pipe()
        survivor.stop()
