"""Data-plane throughput of one storage node, beside raw `sendfile` and local file I/O.

    python bench/data_plane_bench.py [--mib 256] [--rounds 5] [--ranges 2000] [--batch 100]
                                     [--aligned] [--pin]

A storage node (4 MiB chunks, one target, scrubber idle) runs in its own
process; this process writes `--mib` MiB into it through `StorageClient`
and reads them back on uvloop, with `ConnectionPool(max_per_address=1 or
4)` and two requests in flight per connection (2 or 8 client tasks).
Rows, all from this one run on the same chunk files:

* write: whole 4 MiB chunks through flyfs (the node writes a temp file,
  fsyncs, renames, fsyncs the directory, then commits with one more rename
  and directory fsync), against writing the same bytes to local files with
  one fsync per 4 MiB file from as many threads as flyfs has writes in
  flight.  The first flyfs pass creates the chunks, the second overwrites.
* read chunks: every chunk as one whole-chunk read into a reused 4 MiB
  buffer per task (the client's direct path: received straight into it,
  block CRC32Cs verified in place).
* read ranges: `--ranges` 64 KiB ranges at random byte offsets (`--aligned`:
  at random 64 KiB-aligned offsets), `--batch` per request; the node sends
  exactly the bytes asked for plus, for blocks a range covers in part, the
  CRCs of their unsent parts (flyfs.checksums); the client verifies every
  block and copies each range into its reused destination.
* replicated write (`--replicated`, on by default): a local cluster
  (mgmtd, meta, 3 storage nodes x 2 targets, chains of 3) takes the same
  chunks through each chain's head, 4 connections per node, 8 writes in
  flight; each replica writes a temp file, fsyncs, renames, fsyncs the
  directory and commits with one more rename + directory fsync.  Baseline:
  the same bytes written locally as 3 copies (3 directories), each copy a
  temp file + fsync + rename + directory fsync, from 8 threads.
* baselines: "raw" is a second process serving the node's chunk files
  (the very `.c` files, at their data offset) with `socket.sendfile`, one
  thread per connection, and this process receiving with `recv_into` into a
  reused buffer from one thread per connection, two requests in flight per
  connection like flyfs (ranges: the same batches, exactly 64 KiB each);
  "local" is `os.preadv` of the same files from the page cache into a
  reused buffer, one thread.

Each read row runs one verified warmup pass (contents compared with the
bytes written) and then `--rounds` timed passes, a raw pass and a flyfs
pass alternating so that a neighbour's load on a shared machine hits both;
the figure is the median pass.  Writes run once.  CPU columns: share of one
core the serving process and this process used during the timed passes.

Read the ratios over several runs: on a 2-core VM the raw 1-connection
figure swung from 1.7 to 8 GB/s between runs, flyfs's from 3.4 to 5.3
GB/s (1.4-2.5 before receivers woke per 512 KiB, `flyfs.net.protocol`).
`--pin` puts the servers on one half of the CPUs and this process on the
other; it did not steady raw (2-6.6 GB/s), and it makes
raw's 4 server threads share one core.

Targets (issue 5): chunk reads >= 0.8x raw sendfile with the same number of
connections; random 64 KiB ranges >= 20,000/s.  Issue 6: replicated writes
(R=3) >= 0.6x the local 3-copy baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

from flyfs.cluster import LocalCluster
from flyfs.launch import Launched, launch, launch_service
from flyfs.layout import chunk_id
from flyfs.net import ConnectionPool, identity
from flyfs.process import cpu_seconds, die_with_parent, write_ready_file
from flyfs.proto import common_pb2, data_pb2
from flyfs.storage.chunk_meta import data_offset
from flyfs.storage.config import StorageConfig
from flyfs.storage_client import RangeRead, StorageClient

CLUSTER = "data-plane-bench"
CHUNK = 4 << 20
RANGE = 64 << 10
INODE = 1
CHAIN = common_pb2.VersionedChainId(chain_id=1, chain_version=1)
IN_FLIGHT_PER_CONN = 2
CALL_TIMEOUT_S = 60  # any one pass of any row
READ_TARGET = 0.8  # x raw sendfile, same connections
RANGES_TARGET = 20_000  # ranges/s
REPLICATED_TARGET = 0.6  # x local writes of 3 fsynced copies

# Raw protocol: request = u32 count, then count x (u32 file index, u64 offset, u32 length);
# the answer is those regions back to back, nothing else.
RAW_COUNT = struct.Struct("<I")
RAW_RANGE = struct.Struct("<IQI")
RAW_MAX_RANGES = 10_000
RAW_MAX_CONNECTIONS = 1_000
RAW_MAX_REQUESTS = 10_000_000  # per connection; far beyond any run
MAX_IO_STEPS = 1 << 20  # recv/preadv/write calls per buffer; each makes progress or raises


# ---- Processes: the storage node and the raw sendfile server ------------------------------------


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(this process's CPUs, the servers' CPUs): the available CPUs in two halves."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def pin(pid: int, cpus: set[int] | None) -> None:
    """Every thread of `pid` onto `cpus` (threads it starts later inherit them)."""
    if cpus is None:
        return
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


def start_node(directory: Path, cpus: set[int] | None) -> Launched:
    config = StorageConfig(
        cluster_id=CLUSTER,
        log_level="WARNING",
        targets=[str(directory / "target-1")],
        target_ids=[1],
        chain_ids=[CHAIN.chain_id],
        scrub_interval_s=3600.0,  # not during the run
    )
    node = launch_service("storage", config, directory, "storage", started=lambda p: pin(p, cpus))
    pin(node.pid, cpus)  # and the threads it started meanwhile
    return node


def start_raw_server(directory: Path, files: Sequence[str], cpus: set[int] | None) -> Launched:
    listing = directory / "raw-files.json"
    listing.write_text(json.dumps(list(files)))
    argv = [sys.executable, __file__, "--raw-server", str(listing), str(directory / "raw.ready")]
    server = launch(argv, directory, "raw", started=lambda p: pin(p, cpus))
    pin(server.pid, cpus)
    return server


def recv_exact(sock: socket.socket, view: memoryview) -> None:
    got = 0
    for _ in range(MAX_IO_STEPS):
        if got == len(view):
            return
        n = sock.recv_into(view[got:])
        if n == 0:
            raise ConnectionError(f"peer closed after {got} of {len(view)} bytes")
        got += n
    raise ConnectionError("recv made no progress")


def raw_serve_connection(conn: socket.socket, files: list) -> None:
    """Answer requests until the peer closes: each region by socket.sendfile."""
    head = memoryview(bytearray(RAW_COUNT.size))
    body = memoryview(bytearray(RAW_RANGE.size * RAW_MAX_RANGES))
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(RAW_MAX_REQUESTS):
            try:
                recv_exact(conn, head)
            except ConnectionError:
                return
            (count,) = RAW_COUNT.unpack(head)
            if not 0 < count <= RAW_MAX_RANGES:
                return
            recv_exact(conn, body[: count * RAW_RANGE.size])
            for k in range(count):
                index, offset, length = RAW_RANGE.unpack_from(body, k * RAW_RANGE.size)
                conn.sendfile(files[index], offset, length)


def raw_server_main(listing: str, ready_file: str) -> None:
    """`--raw-server`: serve the listed files on 127.0.0.1 until SIGTERM (or the parent dies)."""
    die_with_parent()
    files = [open(path, "rb") for path in json.loads(Path(listing).read_text())]  # noqa: SIM115
    listener = socket.create_server(("127.0.0.1", 0))
    write_ready_file(ready_file, ports={"raw": listener.getsockname()[1]})
    for _ in range(RAW_MAX_CONNECTIONS):
        conn, _ = listener.accept()
        threading.Thread(target=raw_serve_connection, args=(conn, files), daemon=True).start()


# ---- The work, shared by every row -------------------------------------------------------------


@dataclass
class Work:
    data: memoryview  # the bytes written: chunk i is data[i * CHUNK : (i + 1) * CHUNK]
    chunks: int
    ranges: list[tuple[int, int]]  # (chunk index, offset in chunk), RANGE bytes each
    batch: int

    def batches(self) -> list[list[tuple[int, int]]]:
        return [self.ranges[i : i + self.batch] for i in range(0, len(self.ranges), self.batch)]

    def expected(self, index: int, offset: int, length: int) -> memoryview:
        return self.data[index * CHUNK + offset : index * CHUNK + offset + length]


def make_work(mib: int, ranges: int, batch: int, aligned: bool, seed: int = 5) -> Work:
    chunks = mib * (1 << 20) // CHUNK
    data = bytearray(chunks * CHUNK)
    rng = random.Random(seed)
    for i in range(chunks):  # random bytes, so no layer can shortcut them
        data[i * CHUNK : (i + 1) * CHUNK] = rng.randbytes(CHUNK)
    picks = [(rng.randrange(chunks), rng.randrange(CHUNK - RANGE + 1)) for _ in range(ranges)]
    if aligned:
        picks = [(i, off // RANGE * RANGE) for i, off in picks]
    return Work(memoryview(data), chunks, picks, batch)


def check(got: memoryview, want: memoryview, what: str) -> None:
    if got != want:
        raise AssertionError(f"{what}: the bytes read differ from the bytes written")


@dataclass
class Passes:
    """Seconds of each timed pass, and the CPU both sides used during them."""

    seconds: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    has_server: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def server_cpu(self) -> float | None:
        return self.server_cpu_s / sum(self.seconds) if self.has_server else None

    @property
    def client_cpu(self) -> float:
        return self.client_cpu_s / sum(self.seconds)


# A variant to time: its pass (verify: compare every byte read with the bytes written) and
# the process serving it, if any.
Variant = tuple[Callable[[bool], None], "Launched | None"]


def timed(variants: Sequence[Variant], rounds: int, warmup: bool = True) -> list[Passes]:
    """A verified warmup pass of each (unless `warmup` is False), then `rounds` timed passes
    of each, interleaved (a, b, a, b, ...) so that drift on a shared machine hits all alike."""
    if warmup:
        for run_pass, _ in variants:
            run_pass(True)
    out = [Passes(has_server=server is not None) for _, server in variants]
    for _ in range(rounds):
        for (run_pass, server), passes in zip(variants, out, strict=True):
            server_before = server.cpu_seconds() if server else 0.0
            client_before = time.process_time()
            start = time.perf_counter()
            run_pass(False)
            passes.seconds.append(time.perf_counter() - start)
            passes.client_cpu_s += time.process_time() - client_before
            if server:
                passes.server_cpu_s += server.cpu_seconds() - server_before
    return out


# ---- flyfs: StorageClient on uvloop ------------------------------------------------------------


class Flyfs:
    """One pool (`conns` connections) and client, driven from `2 * conns` tasks."""

    def __init__(self, runner: asyncio.Runner, port: int, conns: int, work: Work) -> None:
        self.runner = runner
        self.address = ("127.0.0.1", port)
        self.tasks = IN_FLIGHT_PER_CONN * conns
        self.work = work
        self.pool = ConnectionPool(identity(CLUSTER), max_per_address=conns)
        self.client = StorageClient(self.pool)
        self.chunk_bufs = [memoryview(bytearray(CHUNK)) for _ in range(self.tasks)]
        self.range_bufs = [memoryview(bytearray(RANGE * work.batch)) for _ in range(self.tasks)]
        self.runner.run(self._each_task(lambda _: self._ping()))  # connections open

    def close(self) -> None:
        self.runner.run(self.pool.close())

    def _run(self, make: Callable[[int], Awaitable[None]]) -> None:
        self.runner.run(asyncio.wait_for(self._each_task(make), CALL_TIMEOUT_S))

    async def _each_task(self, make: Callable[[int], Awaitable[None]]) -> None:
        await asyncio.gather(*(make(t) for t in range(self.tasks)))

    async def _ping(self) -> None:
        await self.client.call(self.address, data_pb2.RequestHeader(ping=data_pb2.PingRequest()))

    def write_pass(self) -> None:
        todo = iter(range(self.work.chunks))  # shared by the tasks

        async def task(_: int) -> None:
            for index in todo:
                data = self.work.data[index * CHUNK : (index + 1) * CHUNK]
                await self.client.write(
                    self.address, chunk_id(INODE, index), CHAIN, 0, data, chunk_size=CHUNK
                )

        self._run(task)

    def chunk_pass(self, verify: bool) -> None:
        todo = iter(range(self.work.chunks))

        async def task(t: int) -> None:
            dest = self.chunk_bufs[t]
            for index in todo:
                wanted = RangeRead(chunk_id(INODE, index), CHAIN, 0, CHUNK, dest)
                [result] = await self.client.read(self.address, [wanted])
                if result.error is not None:
                    raise result.error
                if result.length != CHUNK:
                    raise AssertionError(f"chunk {index}: {result.length} bytes")
                if verify:
                    check(dest, self.work.expected(index, 0, CHUNK), f"chunk {index}")

        self._run(task)

    def ranges_pass(self, verify: bool) -> None:
        todo = iter(self.work.batches())

        async def task(t: int) -> None:
            buf = self.range_bufs[t]
            for batch in todo:
                wanted = [
                    RangeRead(chunk_id(INODE, i), CHAIN, off, RANGE, buf[k * RANGE :])
                    for k, (i, off) in enumerate(batch)
                ]
                results = await self.client.read(self.address, wanted)
                for k, ((i, off), result) in enumerate(zip(batch, results, strict=True)):
                    if result.error is not None:
                        raise result.error
                    if result.length != RANGE:
                        raise AssertionError(f"range {i}@{off}: {result.length} bytes")
                    if verify:
                        got = buf[k * RANGE : (k + 1) * RANGE]
                        check(got, self.work.expected(i, off, RANGE), f"range {i}@{off}")

        self._run(task)


# ---- Raw: socket.sendfile in another process, recv_into here -----------------------------------


# (request bytes, answer size, check of the answer or None)
RawRequest = tuple[bytes, int, Callable[[memoryview], None] | None]


def raw_request(regions: Sequence[tuple[int, int, int]]) -> bytes:
    return RAW_COUNT.pack(len(regions)) + b"".join(RAW_RANGE.pack(*r) for r in regions)


class Raw:
    """`conns` plain sockets to the raw server, one thread each, two requests in flight each."""

    def __init__(self, port: int, conns: int, work: Work) -> None:
        self.work = work
        self.base = data_offset(CHUNK)
        self.socks = []
        for _ in range(conns):
            sock = socket.create_connection(("127.0.0.1", port), timeout=CALL_TIMEOUT_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(sock)
        self.chunk_bufs = [memoryview(bytearray(CHUNK)) for _ in range(conns)]
        self.range_bufs = [memoryview(bytearray(RANGE * work.batch)) for _ in range(conns)]
        self.threads = ThreadPoolExecutor(conns, thread_name_prefix="raw")

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        for sock in self.socks:
            sock.close()

    def _run(self, requests: list[RawRequest], bufs: list[memoryview]) -> None:
        """Spread the requests over the connections; `after(view)` checks an answer."""
        n = len(self.socks)
        futures = [
            self.threads.submit(self._conn_pass, self.socks[c], requests[c::n], bufs[c])
            for c in range(n)
        ]
        for future in futures:
            future.result(timeout=CALL_TIMEOUT_S)

    @staticmethod
    def _conn_pass(sock: socket.socket, requests: list[RawRequest], buf: memoryview) -> None:
        for request, _, _ in requests[:IN_FLIGHT_PER_CONN]:
            sock.sendall(request)
        for k, (_, size, after) in enumerate(requests):
            view = buf[:size]
            recv_exact(sock, view)
            if k + IN_FLIGHT_PER_CONN < len(requests):
                sock.sendall(requests[k + IN_FLIGHT_PER_CONN][0])
            if after is not None:
                after(view)

    def chunk_pass(self, verify: bool) -> None:
        def checker(index: int):
            return lambda view: check(view, self.work.expected(index, 0, CHUNK), f"raw {index}")

        requests = [
            (raw_request([(i, self.base, CHUNK)]), CHUNK, checker(i) if verify else None)
            for i in range(self.work.chunks)
        ]
        self._run(requests, self.chunk_bufs)

    def ranges_pass(self, verify: bool) -> None:
        def checker(batch: list[tuple[int, int]]):
            def after(view: memoryview) -> None:
                for k, (i, off) in enumerate(batch):
                    got = view[k * RANGE : (k + 1) * RANGE]
                    check(got, self.work.expected(i, off, RANGE), f"raw range {i}@{off}")

            return after

        requests = [
            (
                raw_request([(i, self.base + off, RANGE) for i, off in batch]),
                RANGE * len(batch),
                checker(batch) if verify else None,
            )
            for batch in self.work.batches()
        ]
        self._run(requests, self.range_bufs)


# ---- Local: preadv of the same files, writes with fsync --------------------------------------


def preadv_exact(fd: int, view: memoryview, offset: int) -> None:
    got = 0
    for _ in range(MAX_IO_STEPS):
        if got == len(view):
            return
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            raise EOFError(f"file short: {got} of {len(view)} bytes at {offset}")
        got += n
    raise EOFError("preadv made no progress")


class Local:
    def __init__(self, files: Sequence[str], work: Work) -> None:
        self.work = work
        self.base = data_offset(CHUNK)
        self.fds = [os.open(path, os.O_RDONLY) for path in files]
        self.buf = memoryview(bytearray(CHUNK))

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)

    def chunk_pass(self, verify: bool) -> None:
        view = self.buf[:CHUNK]
        for i, fd in enumerate(self.fds):
            preadv_exact(fd, view, self.base)
            if verify:
                check(view, self.work.expected(i, 0, CHUNK), f"local {i}")

    def ranges_pass(self, verify: bool) -> None:
        view = self.buf[:RANGE]
        for i, off in self.work.ranges:
            preadv_exact(self.fds[i], view, self.base + off)
            if verify:
                check(view, self.work.expected(i, off, RANGE), f"local range {i}@{off}")


def write_file(path: Path, data: memoryview) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        done = 0
        for _ in range(MAX_IO_STEPS):
            if done == len(data):
                break
            done += os.write(fd, data[done:])
        else:
            raise OSError("write made no progress")
        os.fsync(fd)
    finally:
        os.close(fd)


def local_write_pass(directory: Path, work: Work, threads: int) -> None:
    directory.mkdir(exist_ok=True)
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(write_file, directory / f"{i:05d}", work.expected(i, 0, CHUNK))
            for i in range(work.chunks)
        ]
        for future in futures:
            future.result(timeout=CALL_TIMEOUT_S)


def chunk_files(target: Path, chunks: int) -> list[str]:
    """The node's committed chunk files, in chunk order (file names are the ids in hex)."""
    wanted = {chunk_id(INODE, i).hex(): i for i in range(chunks)}
    found = {p.name.removesuffix(".c"): str(p) for p in (target / "chunks").glob("*/*.c")}
    missing = wanted.keys() - found.keys()
    if missing:
        raise FileNotFoundError(f"{len(missing)} chunk files missing under {target}")
    return [found[h] for h in sorted(wanted, key=wanted.__getitem__)]


# ---- The run and the table -------------------------------------------------------------------


@dataclass
class Row:
    name: str
    mb_s: float
    ranges_s: float | None
    raw: float | None  # the raw row's figure to compare with (same unit)
    local: float | None
    server_cpu: float | None
    client_cpu: float
    target: str = ""

    @property
    def figure(self) -> float:
        return self.ranges_s if self.ranges_s is not None else self.mb_s


def mb_s(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


SHAPES = {  # shape -> (method, row label)
    "chunk": ("chunk_pass", "4 MiB chunks"),
    "ranges": ("ranges_pass", "64 KiB ranges"),
}


def measure(
    args: argparse.Namespace, tmp: Path, work: Work, server_cpus: set[int] | None
) -> list[Row]:
    node = start_node(tmp / "node", server_cpus)
    raw_server: Launched | None = None
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            flyfs = {c: Flyfs(runner, node.port("data"), c, work) for c in (1, 4)}
            try:
                rows = write_rows(tmp, work, node, flyfs)
                files = chunk_files(tmp / "node" / "target-1", work.chunks)
                raw_server = start_raw_server(tmp, files, server_cpus)
                local = Local(files, work)
                raws = {c: Raw(raw_server.port("raw"), c, work) for c in (1, 4)}
                try:
                    for shape in SHAPES:
                        readers = Readers(local, raws, flyfs, raw_server, node)
                        rows += read_rows(shape, args.rounds, work, readers)
                finally:
                    for raw in raws.values():
                        raw.close()
                    local.close()
            finally:
                for f in flyfs.values():
                    f.close()
    finally:
        if raw_server is not None:
            raw_server.stop()
        node.stop()
    return rows


def write_rows(tmp: Path, work: Work, node: Launched, flyfs: dict[int, Flyfs]) -> list[Row]:
    total = work.chunks * CHUNK
    rows = []
    for c, f in flyfs.items():  # 1 conn creates the chunks, 4 conns overwrite them
        threads = IN_FLIGHT_PER_CONN * c
        w, local = timed(
            [
                (lambda _, f=f: f.write_pass(), node),
                (lambda _, t=threads: local_write_pass(tmp / f"local-{t}", work, t), None),
            ],
            rounds=1,
            warmup=False,
        )
        local_rate = mb_s(total, local.median)
        name = f"write 4 MiB chunks, {c} conn"
        rows.append(
            Row(name, mb_s(total, w.median), None, None, local_rate, w.server_cpu, w.client_cpu)
        )
        name = f"local write + fsync per file, {threads} threads"
        rows.append(Row(name, local_rate, None, None, None, None, local.client_cpu))
    return rows


# ---- Replicated writes: chains of 3 on a local cluster -----------------------------------------


def durable_write(directory: Path, name: str, data: memoryview) -> None:
    """`data` as `directory/name`, crash-safe as a chunk version is: temp, fsync, rename."""
    temp = directory / f".{name}.tmp"
    write_file(temp, data)
    os.rename(temp, directory / name)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def local_copies_pass(directory: Path, work: Work, threads: int, copies: int = 3) -> None:
    dirs = [directory / f"copy-{k}" for k in range(copies)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(durable_write, d, f"{i:05d}", work.expected(i, 0, CHUNK))
            for i in range(work.chunks)
            for d in dirs
        ]
        for future in futures:
            future.result(timeout=CALL_TIMEOUT_S)


class ClusterCpu:
    """CPU seconds of a local cluster's storage processes together (the `server` of `timed`)."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.pids = [server.pid for server in cluster.storage]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)


class Replicated:
    """Whole-chunk writes through chain heads, `IN_FLIGHT_PER_CONN * conns` tasks."""

    def __init__(self, runner: asyncio.Runner, cluster: LocalCluster, conns: int, work: Work):
        self.runner = runner
        self.routing = cluster.routing()
        self.chains = [c.chain_id for c in self.routing.info.chains]
        self.tasks = IN_FLIGHT_PER_CONN * conns
        self.work = work
        self.pool = ConnectionPool(identity(cluster.cluster_id), max_per_address=conns)
        self.client = StorageClient(self.pool)

    def close(self) -> None:
        self.runner.run(self.pool.close())

    def write_pass(self) -> None:
        todo = iter(range(self.work.chunks))

        async def task() -> None:
            for index in todo:
                chain = self.chains[index % len(self.chains)]
                head = self.routing.head(chain)
                await self.client.write(
                    self.routing.data_address(head),
                    chunk_id(INODE, index),
                    self.routing.versioned(chain),
                    0,
                    self.work.data[index * CHUNK : (index + 1) * CHUNK],
                    chunk_size=CHUNK,
                )

        async def all_tasks() -> None:
            await asyncio.gather(*(task() for _ in range(self.tasks)))

        self.runner.run(asyncio.wait_for(all_tasks(), CALL_TIMEOUT_S * 4))


def replicated_rows(tmp: Path, work: Work) -> list[Row]:
    total = work.chunks * CHUNK
    conns = 4
    threads = IN_FLIGHT_PER_CONN * conns
    with (
        LocalCluster.up(
            tmp / "cluster", nodes=3, targets_per_node=2, replicas=3, lease_s=60.0
        ) as cluster,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        writer = Replicated(runner, cluster, conns, work)
        try:
            fly, local = timed(
                [
                    (lambda _: writer.write_pass(), ClusterCpu(cluster)),
                    (lambda _: local_copies_pass(tmp / "copies", work, threads), None),
                ],
                rounds=1,
                warmup=False,
            )
        finally:
            writer.close()
    local_rate = mb_s(total, local.median)
    row = Row(
        f"replicated write R=3, 4 MiB chunks, {conns} conn per node",
        mb_s(total, fly.median),
        None,
        None,
        local_rate,
        fly.server_cpu,
        fly.client_cpu,
    )
    met = row.mb_s >= REPLICATED_TARGET * local_rate
    row.target = f">= {REPLICATED_TARGET}x local 3 copies {'met' if met else 'MISSED'}"
    name = f"local write of 3 copies (temp + fsync + rename + dir fsync), {threads} threads"
    return [row, Row(name, local_rate, None, None, None, None, local.client_cpu)]


@dataclass
class Readers:
    local: Local
    raws: dict[int, Raw]
    flyfs: dict[int, Flyfs]
    raw_server: Launched
    node: Launched


def read_rows(shape: str, rounds: int, work: Work, r: Readers) -> list[Row]:
    method, label = SHAPES[shape]
    [local] = timed([(getattr(r.local, method), None)], rounds)
    local_row = shape_row(f"local pread, {label}", shape, work, local)
    rows = [local_row]
    for c in (1, 4):
        raw, fly = timed(
            [(getattr(r.raws[c], method), r.raw_server), (getattr(r.flyfs[c], method), r.node)],
            rounds,
        )
        raw_row = shape_row(
            f"raw sendfile, {label}, {c} conn", shape, work, raw, local=local_row.figure
        )
        row = shape_row(
            f"flyfs read, {label}, {c} conn",
            shape,
            work,
            fly,
            raw=raw_row.figure,
            local=local_row.figure,
        )
        row.target = verdict(row, shape)
        rows += [raw_row, row]
    return rows


def shape_row(
    name: str,
    shape: str,
    work: Work,
    p: Passes,
    *,
    raw: float | None = None,
    local: float | None = None,
) -> Row:
    if shape == "chunk":
        nbytes = work.chunks * CHUNK
        return Row(name, mb_s(nbytes, p.median), None, raw, local, p.server_cpu, p.client_cpu)
    n = len(work.ranges)
    return Row(
        name, mb_s(n * RANGE, p.median), n / p.median, raw, local, p.server_cpu, p.client_cpu
    )


def verdict(row: Row, shape: str) -> str:
    if shape == "chunk":
        assert row.raw is not None
        ok = row.figure >= READ_TARGET * row.raw
        return f">= {READ_TARGET}x raw {'met' if ok else 'MISSED'}"
    ok = row.figure >= RANGES_TARGET
    return f">= {RANGES_TARGET:,} ranges/s {'met' if ok else 'MISSED'}"


def print_table(rows: list[Row]) -> None:
    def ratio(row: Row, base: float | None) -> str:
        return "" if base is None else f"{row.figure / base:.2f}"

    def cpu(share: float | None) -> str:
        return "" if share is None else f"{share:.0%}"

    print("| row | MB/s | ranges/s | x raw sendfile | x local | server CPU | client CPU | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        ranges = "" if row.ranges_s is None else f"{row.ranges_s:,.0f}"
        print(
            f"| {row.name} | {row.mb_s:,.0f} | {ranges} | {ratio(row, row.raw)} "
            f"| {ratio(row, row.local)} | {cpu(row.server_cpu)} | {cpu(row.client_cpu)} "
            f"| {row.target} |"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--raw-server":
        raw_server_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="bytes written and read (x 4 MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes per read row")
    parser.add_argument("--ranges", type=int, default=2_000, help="random 64 KiB ranges")
    parser.add_argument("--batch", type=int, default=100, help="ranges per request (<= 1000)")
    parser.add_argument("--aligned", action="store_true", help="ranges at 64 KiB-aligned offsets")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="servers on one half of the CPUs, this process on the other (default: off)",
    )
    parser.add_argument(
        "--replicated",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also replicated writes (R=3) on a local cluster (default: on)",
    )
    parser.add_argument("--dir", default=None, help="where the files go (default: temp)")
    args = parser.parse_args()
    if args.mib < 4 or args.mib % 4 or min(args.rounds, args.ranges, args.batch) < 1:
        parser.error("--mib must be a positive multiple of 4; counts must be >= 1")
    if args.batch > 1000:
        parser.error("--batch is at most 1000")
    split = split_cpus() if args.pin else None
    if split is not None:
        os.sched_setaffinity(0, split[0])  # before any thread of ours starts
    work = make_work(args.mib, args.ranges, args.batch, args.aligned)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = measure(args, Path(tmp), work, split[1] if split else None)
        if args.replicated:
            rows += replicated_rows(Path(tmp), work)
    print(
        f"one storage node, {args.mib} MiB in {work.chunks} chunks of 4 MiB, "
        f"{IN_FLIGHT_PER_CONN} requests in flight per connection, median of {args.rounds} "
        f"passes per read row; ranges at {'64 KiB-aligned' if args.aligned else 'random byte'} "
        f"offsets, {args.batch} per request; {os.cpu_count()} cores, "
        + (
            f"servers pinned to CPUs {sorted(split[1])}, this process to {sorted(split[0])}\n"
            if split
            else "not pinned\n"
        )
    )
    print_table(rows)


if __name__ == "__main__":
    main()
