"""Failover figures: how long writes stall when a node dies, and how fast it resyncs.

    python bench/failover_bench.py [--lease-s 5] [--missed-mib 256] [--dir D]

A local cluster (3 storage nodes x 2 targets, chains of 3, heartbeat a
tenth of the lease) runs in child processes.  One writer thread writes
files of random sizes up to 20 MiB through `FlyfsFileSystem.pipe_file`
the whole time.  Then:

1. storage-1 is killed with SIGKILL; the figure is the longest time
   without an acknowledged write from the kill until writes have gone on
   for `--missed-mib` MiB without it (DESIGN.md: lease plus margin, then
   the client's next retry);
2. storage-1 is started again; the figure is the time until every chain
   serves again, and the resync rate: bytes its predecessors pushed over
   the time they pushed (from their logs' "resync ... done" lines);
3. mgmtd is killed and restarted on its port; the figure is the longest
   write pause (at most one lease, DESIGN.md).

Target (issue 8): the stall after a kill < 10 s with a 5 s lease.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import tempfile
import threading
import time
from pathlib import Path

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster

DONE_LINE = re.compile(r"resync of target \d+ from \d+ done: .* ([\d.]+) MB in ([\d.]+) s")


class Writer:
    """Writes new files until stopped; remembers when each write was acknowledged."""

    def __init__(self, fs: FlyfsFileSystem) -> None:
        self.fs = fs
        self.acks: list[tuple[float, int]] = []  # (time, bytes)
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(300)

    def _run(self) -> None:
        rng = random.Random(1)
        for n in range(1_000_000):
            if self._stop.is_set():
                return
            data = os.urandom(rng.randrange(1, 20 << 20))
            try:
                self.fs.pipe_file(f"/bench/f{n:06d}", data)
            except OSError:
                self.errors += 1
                continue
            self.acks.append((time.monotonic(), len(data)))

    def bytes_since(self, moment: float) -> int:
        return sum(n for t, n in list(self.acks) if t > moment)

    def longest_pause(self, since: float) -> float:
        times = [since] + [t for t, _ in list(self.acks) if t > since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def wait(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # bounded by the deadline
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout_s} s")
        time.sleep(0.05)


def all_serving(cluster: LocalCluster) -> bool:
    routing = cluster.routing()
    return all(len(routing.serving(c.chain_id)) == len(c.target_ids) for c in routing.info.chains)


def resync_rate(cluster: LocalCluster) -> tuple[float, float]:
    """(MB pushed, seconds pushing) over every finished resync in the storage logs."""
    mb = seconds = 0.0
    for server in cluster.storage:
        for match in DONE_LINE.finditer(server.log_path.read_text(errors="replace")):
            mb += float(match.group(1))
            seconds += float(match.group(2))
    return mb, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lease-s", type=float, default=5.0)
    parser.add_argument("--missed-mib", type=int, default=256)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        cluster = LocalCluster.up(
            Path(tmp) / "cluster", heartbeat_s=args.lease_s / 10, lease_s=args.lease_s
        )
        try:
            run(cluster, args)
        finally:
            cluster.down()


def run(cluster: LocalCluster, args: argparse.Namespace) -> None:
    fs = FlyfsFileSystem(cluster=cluster.mgmtd_address, skip_instance_cache=True)
    writer = Writer(fs).start()
    try:
        wait(lambda: len(writer.acks) >= 3, 60, "first writes")
        killed = time.monotonic()
        cluster.stop_node(0, kill=True)
        wait(lambda: writer.bytes_since(killed) >= args.missed_mib << 20, 600, "writes")
        stall = writer.longest_pause(killed)
        started = time.monotonic()
        cluster.start_node(0)
        wait(lambda: all_serving(cluster), 600, "chains serving")
        back_s = time.monotonic() - started
        mb, push_s = resync_rate(cluster)
        before = time.monotonic()
        cluster.restart_mgmtd(kill=True)
        wait(lambda: writer.bytes_since(before) >= 64 << 20, 300, "writes after mgmtd")
        mgmtd_pause = writer.longest_pause(before)
    finally:
        writer.stop()
    print(f"lease {args.lease_s:g} s, heartbeat {args.lease_s / 10:g} s, 3 nodes x 2 targets, R=3")
    print(f"write stall after SIGKILL of storage-1:    {stall:6.1f} s  (target < 10 s)")
    print(f"storage-1 back to every chain serving:    {back_s:6.1f} s")
    rate = mb / push_s if push_s else float("nan")
    print(f"resync pushed {mb:8.1f} MB in {push_s:5.1f} s:   {rate:6.1f} MB/s")
    print(f"longest write pause over an mgmtd restart: {mgmtd_pause:5.1f} s  (at most one lease)")
    print(f"writes acknowledged {len(writer.acks)}, failed {writer.errors}")


if __name__ == "__main__":
    main()
