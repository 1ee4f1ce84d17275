"""The trainer's data stall reading from flyfs against reading local files, in one run.

    python bench/workload_bench.py [--steps 100] [--rounds 3] [--megabytes 16] [--workers 2]

A local cluster (mgmtd, meta, 3 storage nodes x 2 targets, chains of 3,
lease 60 s) runs in child processes.  The corpus (`flyfs.trainer.corpus`,
CPython's own text as byte tokens, 8 shards) is written to flyfs and to a
local directory from the same token stream.  Then, for `--rounds` rounds,
each source in turn (flyfs, local, flyfs, local, ... so that a neighbour's
load on a shared machine hits both alike):

* train: a fresh model (same seed, so the same batches and the same
  losses) trains `--steps` steps through a DataLoader with `--workers`
  forked workers, one `cat_ranges` per batch of 16 windows of 129 tokens.
  Data stall = time waiting for the next batch / (waiting + compute),
  steps after the first (the first pays for forking the workers and is
  shown on its own).
* loader only: the same batches drawn with no training in between: the
  rate at which the source can feed batches, i.e. the headroom over what
  training consumes.

Figures are the median over rounds.  `x local` is the ratio to the local
row of the same kind; storage CPU is the share of one core the three
storage nodes used during the flyfs passes.  Target (issue 9): data stall
< 2 % on flyfs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# flyfs.client first: it turns gRPC's fork support on, which only works before grpc
# is imported (flyfs.cluster and data_plane_bench import it), and the workers fork.
from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster
from flyfs.trainer.corpus import build_tokens, write_corpus
from flyfs.trainer.dataset import TokenWindows, batch_loader
from flyfs.trainer.train import Learner, TrainConfig, train

MiB = 1 << 20


class Meter(Protocol):
    def cpu_seconds(self) -> float: ...


@dataclass
class Pass:
    steps_s: float
    stall: float | None  # None for loader-only passes
    first_wait_s: float
    storage_cpu: float | None


def train_pass(url: str, steps: int, workers: int, cpu: Meter | None) -> Pass:
    learner = Learner(TrainConfig(data=url, workers=workers))
    before = cpu.cpu_seconds() if cpu else 0.0
    stats = train(learner, steps)
    share = (cpu.cpu_seconds() - before) / stats.seconds if cpu else None
    return Pass(stats.steps_per_s, stats.stall_fraction, stats.first_wait_s, share)


def loader_pass(url: str, steps: int, workers: int, cpu: Meter | None) -> Pass:
    config = TrainConfig(data=url, workers=workers)
    dataset = TokenWindows(url, config.seq_len)
    loader = batch_loader(dataset, config.batch_size, config.seed, 0, steps, workers)
    before = cpu.cpu_seconds() if cpu else 0.0
    started = time.perf_counter()
    first = None
    for _ in loader:
        first = first or time.perf_counter() - started
    seconds = time.perf_counter() - started
    share = (cpu.cpu_seconds() - before) / seconds if cpu else None
    return Pass(steps / seconds, None, first or 0.0, share)


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def print_rows(results: dict[tuple[str, str], list[Pass]]) -> None:
    print("| row | steps/s | x local | data stall | first batch | storage CPU | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for (kind, source), passes in results.items():
        rate = median([p.steps_s for p in passes])
        local = median([p.steps_s for p in results[(kind, "local")]])
        stall = median([p.stall for p in passes])
        cpu = median([p.storage_cpu for p in passes])
        target = ""
        if kind == "train" and source == "flyfs" and stall is not None:
            target = "< 2 % " + ("met" if stall < 0.02 else "MISSED")
        print(
            f"| {kind}, {source} | {rate:.1f} | {rate / local:.2f} "
            f"| {'' if stall is None else f'{100 * stall:.2f} %'} "
            f"| {median([p.first_wait_s for p in passes]):.2f} s "
            f"| {'' if cpu is None else f'{cpu:.0%}'} | {target} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per pass (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="passes per row (default 3)")
    parser.add_argument("--megabytes", type=int, default=16, help="corpus size (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (default 2)")
    args = parser.parse_args(argv)
    from data_plane_bench import ClusterCpu  # after flyfs.client, above

    with (
        tempfile.TemporaryDirectory(prefix="flyfs-workload-bench-") as tmp,
        LocalCluster.up(Path(tmp) / "cluster", lease_s=60.0) as cluster,
    ):
        urls = {
            "flyfs": f"flyfs://{cluster.mgmtd_address}/corpus",
            "local": f"file://{tmp}/corpus",
        }
        tokens, documents = build_tokens(args.megabytes * MiB)
        for url in urls.values():
            write_corpus(url, tokens, documents)
        stored = FlyfsFileSystem(cluster=cluster.mgmtd_address).du("/corpus")
        cpu = ClusterCpu(cluster)
        results: dict[tuple[str, str], list[Pass]] = {}
        for kind, run in (("train", train_pass), ("loader only", loader_pass)):
            for _ in range(args.rounds):
                for source, url in urls.items():
                    meter = cpu if source == "flyfs" else None
                    results.setdefault((kind, source), []).append(
                        run(url, args.steps, args.workers, meter)
                    )
                    print(f"{kind}, {source}: done", file=sys.stderr, flush=True)
    print(
        f"\n{args.steps} steps per pass, {args.rounds} rounds, batch 16 x 129 tokens,"
        f" {args.workers} workers, corpus {stored / MiB:.1f} MiB in 8 shards\n"
    )
    print_rows(results)


if __name__ == "__main__":
    main()
