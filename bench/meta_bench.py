"""Operations per second of one meta server, beside an empty gRPC call (the ceiling).

    python bench/meta_bench.py [--seconds 3] [--tasks 16] [--client aio|threads]

A meta server on the sqlite engine runs in its own process (temp dir,
stopped by pid at the end); this process drives it over gRPC from `--tasks`
concurrent client tasks per row.  Rows: `Hello` (does nothing: the
ceiling a meta call cannot beat on this gRPC stack and machine), then
create, stat, list (one `List` of a 1,000-entry directory is one op), rename,
unlink, each run for `--seconds` or until its files run out, and `StatMany`
in batches of 1,000 paths.  Every figure comes from the same run, so the
ratio to the echo row says what meta costs beyond gRPC itself.

Client: grpc.aio, all tasks on one channel in one event loop (`--client
aio`, the default): on a 2-core machine it kept the server busier than
synchronous stubs from one thread per task (`--client threads`; echo: server
at 101% of a core against 88%, and a higher ceiling in most runs).  The
CPU columns say which side is the bottleneck: a server near 100% of one
core is bound by its own event loop and GIL, not by the client.

Targets (issue 4, sqlite engine): creates >= 2,000/s, single stats >= 0.5x
the echo ceiling, StatMany >= 20,000 paths/s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from flyfs.kv import KvConfig
from flyfs.launch import Launched, launch_service
from flyfs.meta.config import MetaConfig
from flyfs.proto import meta_pb2, meta_pb2_grpc
from flyfs.request_tags import RequestTagger

READY_TIMEOUT_S = 30
CALL_TIMEOUT_S = 30
MAX_OPS_PER_TASK = 10_000_000  # the deadline ends a row long before this
LIST_ENTRIES = 1_000
BATCH = 1_000  # paths per StatMany
FILES = "/bench/files"
LISTED = "/bench/listed"
# Row -> (what is compared, the target, how the target reads).
TARGETS = {
    "create": ("ops", 2_000, ">= 2,000 ops/s"),
    "stat": ("ratio", 0.5, ">= 0.5x echo"),
    "stat_many": ("units", 20_000, ">= 20,000 paths/s"),
}

# A request maker: (task, i) -> (method, request), or None when the task has no more work.
Maker = Callable[[int, int], "tuple[str, object] | None"]


# ---- The server ------------------------------------------------------------------------------


def start_server(directory: Path) -> Launched:
    config = MetaConfig(
        kv=KvConfig(sqlite_path=str(directory / "kv.db")), chains=[1, 2, 3, 4, 5, 6]
    )
    return launch_service("meta", config, directory, "meta")


# ---- Clients: run a maker from N concurrent tasks until it is done or time is up -------------


def units_of(response) -> int:
    """What one response carries: entries of a listing, results of a StatMany, else 1."""
    if isinstance(response, meta_pb2.ListResponse):
        return len(response.entries)
    if isinstance(response, meta_pb2.StatManyResponse):
        return len(response.results)
    return 1


@dataclass
class Outcome:
    seconds: float
    ops: list[int]  # per task: ops 0..n-1 completed, in order
    units: int = 0
    ran_out: bool = False  # a task ended because its work ran out, not the clock

    @property
    def total(self) -> int:
        return sum(self.ops)


async def run_aio(address: str, make: Maker, tasks: int, seconds: float) -> Outcome:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = meta_pb2_grpc.MetaStub(channel)
        await stub.Hello(meta_pb2.HelloRequest(), timeout=CALL_TIMEOUT_S)  # connected
        outcome = Outcome(0.0, [0] * tasks)
        deadline = time.perf_counter() + seconds

        async def worker(task: int) -> None:
            for i in range(MAX_OPS_PER_TASK):
                call = make(task, i) if time.perf_counter() < deadline else None
                if call is None:
                    outcome.ran_out |= time.perf_counter() < deadline
                    return
                method, request = call
                response = await getattr(stub, method)(request, timeout=CALL_TIMEOUT_S)
                outcome.units += units_of(response)
                outcome.ops[task] = i + 1

        start = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(worker(t) for t in range(tasks))), seconds + CALL_TIMEOUT_S
        )
        outcome.seconds = time.perf_counter() - start
        return outcome


def run_threads(address: str, make: Maker, tasks: int, seconds: float) -> Outcome:
    with grpc.insecure_channel(address) as channel:
        stub = meta_pb2_grpc.MetaStub(channel)
        stub.Hello(meta_pb2.HelloRequest(), timeout=CALL_TIMEOUT_S)  # connected
        outcome = Outcome(0.0, [0] * tasks)
        units = [0] * tasks
        deadline = time.perf_counter() + seconds

        def worker(task: int) -> None:
            for i in range(MAX_OPS_PER_TASK):
                call = make(task, i) if time.perf_counter() < deadline else None
                if call is None:
                    outcome.ran_out |= time.perf_counter() < deadline
                    return
                method, request = call
                units[task] += units_of(getattr(stub, method)(request, timeout=CALL_TIMEOUT_S))
                outcome.ops[task] = i + 1

        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(tasks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + CALL_TIMEOUT_S)
            if thread.is_alive():
                raise TimeoutError("a client thread did not finish")
        outcome.seconds = time.perf_counter() - start
        outcome.units = sum(units)
        return outcome


# ---- The workloads ---------------------------------------------------------------------------


@dataclass
class Workload:
    """Requests for each row; remembers which files each task created and renamed."""

    tasks: int
    tagger: RequestTagger = field(default_factory=RequestTagger)
    created: list[int] = field(default_factory=list)  # per task: files 0..n-1 exist
    renamed: list[int] = field(default_factory=list)  # per task: files 0..n-1 renamed

    def tagged(self, request):
        request.tag.CopyFrom(self.tagger.tag())
        return request

    @staticmethod
    def name(task: int, i: int, renamed: bool = False) -> str:
        return f"{FILES}/t{task:02d}-{i:07d}" + (".r" if renamed else "")

    @staticmethod
    def listed(n: int) -> str:
        return f"{LISTED}/e{n:05d}"

    def fill_listed(self, n: int, i: int):
        """The 1,000 files of the listed directory, spread over the tasks."""
        k = n + self.tasks * i
        if k >= LIST_ENTRIES:
            return None
        return "Create", self.tagged(meta_pb2.CreateRequest(path=self.listed(k), exclusive=True))

    def echo(self, n: int, i: int):
        return "Hello", meta_pb2.HelloRequest()

    def create(self, n: int, i: int):
        return "Create", self.tagged(meta_pb2.CreateRequest(path=self.name(n, i), exclusive=True))

    def stat(self, n: int, i: int):
        if not self.created[n]:
            return None
        path = self.name(n, i % self.created[n])
        return "Stat", meta_pb2.StatRequest(ref=meta_pb2.InodeRef(path=path))

    def list_dir(self, n: int, i: int):
        return "List", meta_pb2.ListRequest(dir=meta_pb2.InodeRef(path=LISTED), limit=LIST_ENTRIES)

    def rename(self, n: int, i: int):
        if i >= self.created[n]:
            return None
        src, dst = self.name(n, i), self.name(n, i, renamed=True)
        return "Rename", self.tagged(meta_pb2.RenameRequest(src=src, dst=dst))

    def unlink(self, n: int, i: int):
        if i >= self.created[n]:
            return None
        path = self.name(n, i, renamed=i < self.renamed[n])
        return "Unlink", self.tagged(meta_pb2.UnlinkRequest(path=path))

    def stat_many(self, n: int, i: int):
        first = (n * 61 + i * 7) % LIST_ENTRIES  # vary where each batch starts
        refs = [
            meta_pb2.InodeRef(path=self.listed((first + k) % LIST_ENTRIES)) for k in range(BATCH)
        ]
        return "StatMany", meta_pb2.StatManyRequest(refs=refs)


# ---- The run and the table -------------------------------------------------------------------


@dataclass
class Row:
    name: str
    ops_per_s: float
    units_per_s: float | None
    server_cpu: float  # fraction of one core the server used during the row
    client_cpu: float
    note: str


def measure(args: argparse.Namespace, server: Launched) -> list[Row]:
    address = f"127.0.0.1:{server.port('grpc')}"

    def run(make: Maker, seconds: float) -> Outcome:
        if args.client == "threads":
            return run_threads(address, make, args.tasks, seconds)
        return asyncio.run(run_aio(address, make, args.tasks, seconds))

    work = Workload(args.tasks)
    with grpc.insecure_channel(address) as channel:
        stub = meta_pb2_grpc.MetaStub(channel)
        for path in (FILES, LISTED):
            request = work.tagged(meta_pb2.MkdirRequest(path=path, parents=True))
            stub.Mkdir(request, timeout=CALL_TIMEOUT_S)
    run(work.fill_listed, READY_TIMEOUT_S)
    makers = {
        "echo": work.echo,
        "create": work.create,
        "stat": work.stat,
        "list": work.list_dir,
        "rename": work.rename,
        "unlink": work.unlink,
        "stat_many": work.stat_many,
    }
    rows = []
    for name, make in makers.items():
        server_before, client_before = server.cpu_seconds(), time.process_time()
        outcome = run(make, args.seconds)
        server_cpu = (server.cpu_seconds() - server_before) / outcome.seconds
        client_cpu = (time.process_time() - client_before) / outcome.seconds
        if name == "create":
            work.created = outcome.ops
        elif name == "rename":
            work.renamed = outcome.ops
        units = outcome.units / outcome.seconds if name in ("list", "stat_many") else None
        note = f"{outcome.total:,} ops in {outcome.seconds:.1f} s"
        if outcome.ran_out:
            note += ", ran out of files"
        ops_per_s = outcome.total / outcome.seconds
        rows.append(Row(name, ops_per_s, units, server_cpu, client_cpu, note))
    return rows


def verdict(row: Row, ceiling: float) -> str:
    if row.name not in TARGETS:
        return ""
    kind, target, text = TARGETS[row.name]
    value = {"ops": row.ops_per_s, "ratio": row.ops_per_s / ceiling, "units": row.units_per_s}
    return f"{text} {'met' if value[kind] >= target else 'MISSED'}"


def print_table(rows: list[Row]) -> None:
    ceiling = rows[0].ops_per_s
    print("| op | ops/s | x echo | entries or paths/s | server CPU | client CPU | target | run |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for row in rows:
        units = "" if row.units_per_s is None else f"{row.units_per_s:,.0f}"
        print(
            f"| {row.name} | {row.ops_per_s:,.0f} | {row.ops_per_s / ceiling:.2f} | {units} "
            f"| {row.server_cpu:.0%} | {row.client_cpu:.0%} "
            f"| {verdict(row, ceiling)} | {row.note} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per row")
    parser.add_argument("--tasks", type=int, default=16, help="concurrent client tasks")
    parser.add_argument("--client", choices=("aio", "threads"), default="aio")
    parser.add_argument("--dir", default=None, help="where the server's files go (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        server = start_server(Path(tmp))
        try:
            print(
                f"meta on the {server.ready['engine']} engine,"
                f" {args.tasks} {args.client} client tasks, "
                f"{args.seconds:g} s per row; list = one List of {LIST_ENTRIES:,} entries, "
                f"stat_many = batches of {BATCH:,} paths\n"
            )
            print_table(measure(args, server))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
