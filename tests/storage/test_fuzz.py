"""Fuzz: 10,000 malformed frames at a real storage node while a good client keeps reading.

The fuzzer (seeded `random.Random`, so a failure replays; no hypothesis,
for speed) opens about 600 connections to the node on 127.0.0.1,
`CONCURRENCY` at a time, each a script of frames:

- an opening (OPENINGS): none (a stranger), a valid hello with odd fields,
  a hello from another cluster, or a hello carrying a payload;
- up to 30 frames the node answers without dropping the connection
  (SURVIVABLE_KINDS): reads with absurd fields (offsets and lengths past the
  chunk or 2**32-1, unknown chains, chunk ids of the wrong length, 10,000
  ranges, 10,001, 100,000 empty ones), writes, truncates, commits, removes
  and queries with absurd fields (mutations never on chain 1, which holds
  the good client's chunks), pings, bodiless and unserved requests, with
  request ids and timeout_ms of 0, 1 ms or 2**32-1;
- mostly, one last frame that costs the connection (FATAL_KINDS): random
  garbage, wrong magic, version, kind or flags, header_len or payload_len
  over the limits (up to 2**32-1 and 2**64-1) or at them and then cut
  short, random header bytes, a valid frame with header bytes overwritten,
  a second hello, a prefix or header cut short, or a write or ping that
  announces 64-256 MiB and sends at most 500 KB of it.

A connection then closes, aborts (RST), reads whatever comes back for at
most 0.3 s (optionally after a half-close), or holds still for 50-250 ms so
half-received frames pile up on the node. Meanwhile a client in another
thread reads the known chunks and checks every byte. The node's RSS is
sampled every 10 ms and its peak (VmHWM, reset before the fuzz) must stay
within RSS_SLACK of the baseline; afterwards it must still serve (a 64 MiB
write that fits its receive budget only if no reservation leaked), hold no
more descriptors than before, and have logged no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvloop
from storage_node import CLUSTER, StorageNode, chain, run_client, start_node

from flyfs import frame
from flyfs.layout import CHECKSUM_BLOCK as B
from flyfs.layout import chunk_id
from flyfs.net import identity
from flyfs.proto import common_pb2, data_pb2
from flyfs.storage_client import RangeRead, StorageClient

SEED = 20240505
FRAMES = 10_000
CONCURRENCY = 24
FUZZ_BUDGET_S = 30.0  # the fuzz loop stops here even if FRAMES were not all sent
CHUNK = 1 << 20
KNOWN_CHAIN = 1  # the good client's chunks; the fuzzer never mutates this chain
FUZZ_CHAIN = 2
RSS_SLACK = 150 << 20
# The node's budget for payload buffers: room for one 256 MiB class and a few smaller ones,
# so announced-and-unsent payloads both get buffers (which must not cost memory) and are
# refused (answered UNAVAILABLE). After the fuzz a 64 MiB write must fit: nothing leaked.
RECEIVE_BUDGET = 320 << 20
FD_SLACK = 16
MIN_GOOD_READS = 100
READ_TIMEOUT_S = 10.0  # one good read; far above normal, so only a hang trips it
U32, U64 = (1 << 32) - 1, (1 << 64) - 1
OPENINGS = {"none": 1, "hello": 12, "other_cluster": 1, "hello_payload": 1}
# FrameMaker methods making frames the server answers without dropping the connection.
SURVIVABLE_KINDS = {
    "read": 30,
    "write": 10,
    "truncate": 10,
    "commit": 10,
    "remove": 10,
    "queries": 10,
    "ping": 10,
    "odd_body": 10,
    "many_ranges": 0.5,
}
FATAL_KINDS = [
    "garbage",
    "magic",
    "version",
    "kind",
    "flags",
    "header_over",
    "payload_over",
    "header_at_limit",
    "payload_at_limit",
    "random_header",
    "second_hello",
    "cut_prefix",
    "cut_header",
    "declared_payload",
    "declared_payload",
    "flipped",
    "flipped",
]


# ---- the node's memory and descriptors ----------------------------------------


def proc_status(pid: int, key: str) -> int:
    """A `kB` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid: int) -> dict[str, int]:
    """What the node's descriptors point at (socket, chunk file, ...), for failure messages."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            kind = target.split(":")[0] if ":" in target else Path(target).parent.name
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class RssSampler(threading.Thread):
    """Samples VmRSS every 10 ms until stopped (bounded by `limit_s`)."""

    def __init__(self, pid: int, limit_s: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.limit_s = pid, limit_s
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self.stop.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))
                self.samples += 1
            self.stop.wait(0.01)


# ---- frames ------------------------------------------------------------------


def prefix(
    magic: bytes = frame.MAGIC,
    version: int = frame.VERSION,
    kind: int = 1,
    flags: int = 0,
    header_len: int = 0,
    payload_len: int = 0,
) -> bytes:
    return struct.pack("!4sBBHIQ", magic, version, kind, flags, header_len, payload_len)


def request(header: data_pb2.RequestHeader, payload: bytes = b"") -> bytes:
    return frame.encode(header, len(payload)) + payload


def hello(cluster: str = CLUSTER, **fields: Any) -> bytes:
    return request(data_pb2.RequestHeader(hello=identity(cluster, **fields)))


@dataclass
class Script:
    """What one fuzz connection sends, and how it ends."""

    data: bytes
    frames: int
    ending: str  # close | abort | read | half_close | hold
    kinds: list[str]  # the opening, then what each frame is
    hold_s: float = 0.0


class FrameMaker:
    """Seeded generator of fuzz connections; `known` are the good client's chunk ids."""

    def __init__(self, rng: random.Random, known: list[bytes]) -> None:
        self.rng = rng
        self.known = known

    # -- field values ----------------------------------------------------------

    def u32(self) -> int:
        return self.rng.choice(
            [0, 1, B - 1, B, CHUNK - 1, CHUNK, CHUNK + 1, 1 << 31, U32, self.rng.randrange(U32 + 1)]
        )

    def any_chunk_id(self) -> bytes:
        r = self.rng.random()
        if r < 0.3:
            return self.rng.choice(self.known)
        if r < 0.6:
            return self.fresh_chunk_id()
        return self.rng.randbytes(self.rng.choice([0, 1, 8, 15, 17, 32, 300]))

    def fresh_chunk_id(self) -> bytes:
        return chunk_id(self.rng.randrange(1 << 40, 1 << 48), self.rng.randrange(1 << 20))

    def wrong_chunk_id(self) -> bytes:
        """Never one of the known chunks: a fresh id or bytes of the wrong length."""
        if self.rng.random() < 0.5:
            return self.fresh_chunk_id()
        return self.rng.randbytes(self.rng.choice([0, 1, 15, 17, 64]))

    def any_chain(self) -> common_pb2.VersionedChainId:
        return common_pb2.VersionedChainId(
            chain_id=self.rng.choice([0, KNOWN_CHAIN, FUZZ_CHAIN, 3, U32]),
            chain_version=self.rng.choice([0, 1, U32]),
        )

    def mutable_chain(self) -> common_pb2.VersionedChainId:
        return common_pb2.VersionedChainId(
            chain_id=self.rng.choice([0, FUZZ_CHAIN, 3, 99, U32]),
            chain_version=self.rng.choice([0, 1, U32]),
        )

    def base(self) -> data_pb2.RequestHeader:
        return data_pb2.RequestHeader(
            request_id=self.rng.choice([0, 1, U64, self.rng.randrange(U64)]),
            timeout_ms=self.rng.choice([0, 0, 1, 5000, U32]),
        )

    # -- frames the server survives (answers, keeps the connection) -------------

    def read(self) -> bytes:
        h = self.base()
        h.read.committed_on_pending = self.rng.random() < 0.5
        for _ in range(self.rng.randrange(0, 12)):
            rng = h.read.ranges.add(chunk_id=self.any_chunk_id(), chain=self.any_chain())
            rng.offset, rng.length = self.u32(), self.u32()
        return request(h)

    def many_ranges(self) -> bytes:
        h = self.base()
        r = self.rng.random()
        if r < 0.4:  # the most a read may ask for, all past the end of a known chunk
            cid = self.rng.choice(self.known)
            for _ in range(10_000):
                h.read.ranges.add(chunk_id=cid, chain=chain(KNOWN_CHAIN), offset=U32 - B, length=1)
        elif r < 0.7:  # one too many
            for _ in range(10_001):
                h.read.ranges.add(length=1)
        else:  # 100,000 empty ranges: 200 KB of header
            for _ in range(100_000):
                h.read.ranges.add()
        return request(h)

    def write(self) -> bytes:
        h = self.base()
        w = h.write
        w.chunk_id = self.wrong_chunk_id()
        w.chain.CopyFrom(self.mutable_chain())
        w.offset = self.u32()
        payload = self.rng.randbytes(self.rng.choice([0, 1, 100, 4096]))
        w.length = len(payload) if self.rng.random() < 0.5 else self.u32()
        w.chunk_size = self.rng.choice([0, 3, 1 << 16, 1 << 20, 1 << 26, 1 << 27, U32])
        w.payload_crc32c = self.rng.randrange(U32 + 1)
        w.update_ver = self.rng.choice([0, 0, 1, U64])
        w.full_chunk_replace = self.rng.random() < 0.2
        w.tag.client_id = self.rng.randbytes(self.rng.choice([0, 16, 40]))
        w.tag.sequence = self.rng.randrange(U64)
        return request(h, payload)

    def truncate(self) -> bytes:
        h = self.base()
        t = h.truncate
        t.chunk_id = self.wrong_chunk_id()
        t.chain.CopyFrom(self.mutable_chain())
        # A valid truncate extends with zeros: keep those small (<= 1 MiB chunks).
        t.chunk_size = self.rng.choice([0, 5, 1 << 16, 1 << 20, U32])
        t.length = self.rng.choice([0, 1, B + 1, U32, self.rng.randrange(1 << 20)])
        t.update_ver = self.rng.choice([0, 2, U64])
        return request(h)

    def commit(self) -> bytes:
        h = self.base()
        h.commit.chunk_id = self.wrong_chunk_id()
        h.commit.chain.CopyFrom(self.mutable_chain())
        h.commit.commit_ver = self.rng.choice([0, 1, U64])
        return request(h)

    def remove(self) -> bytes:
        h = self.base()
        h.remove.chain.CopyFrom(self.mutable_chain())
        if self.rng.random() < 0.5:
            h.remove.chunk_ids.extend(self.wrong_chunk_id() for _ in range(self.rng.randrange(8)))
        else:
            h.remove.range_begin = self.rng.randbytes(self.rng.choice([0, 3, 16]))
            h.remove.range_end = self.rng.randbytes(self.rng.choice([0, 16, 40]))
            h.remove.limit = self.rng.choice([0, 1, U32])
        return request(h)

    def queries(self) -> bytes:
        h = self.base()
        if self.rng.random() < 0.5:
            for _ in range(self.rng.randrange(20)):
                h.query_last_chunk.queries.add(
                    chain=self.any_chain(), inode_id=self.rng.choice([0, 9000, U64])
                )
        else:
            lc = h.list_chunks
            lc.chain.CopyFrom(self.any_chain())
            lc.begin, lc.end = self.rng.randbytes(16), self.rng.randbytes(self.rng.choice([0, 16]))
            lc.limit, lc.with_block_checksums = self.rng.choice([0, 1, U32]), True
        return request(h)

    def ping(self) -> bytes:
        h = self.base()
        h.ping.sent_monotonic_ns = self.rng.randrange(-(1 << 63), 1 << 63)
        return request(h, self.rng.randbytes(self.rng.choice([0, 1, 1000, 70_000])))

    def odd_body(self) -> bytes:
        h = self.base()
        choice = self.rng.randrange(3)
        if choice == 1:
            h.sync_done.target_id = self.u32()
        elif choice == 2:
            h.report_bad_chunk.bad_blocks.extend(self.u32() for _ in range(5))
        return request(h)  # 0: no body at all

    def flipped(self) -> bytes:
        """A read or ping with 1-4 random bytes of its header overwritten (may be fatal)."""
        data = bytearray(self.read() if self.rng.random() < 0.5 else self.ping())
        end = min(len(data), frame.PREFIX_SIZE + struct.unpack_from("!I", data, 8)[0])
        for _ in range(self.rng.randrange(1, 5)):
            if end > frame.PREFIX_SIZE:
                data[self.rng.randrange(frame.PREFIX_SIZE, end)] = self.rng.randrange(256)
        return bytes(data)

    # -- frames that cost the connection ----------------------------------------

    def fatal(self) -> tuple[str, bytes]:
        rng = self.rng
        kind = rng.choice(FATAL_KINDS)
        valid = self.read()
        match kind:
            case "garbage":
                data = rng.randbytes(rng.randrange(1, 4096))
            case "magic":
                data = prefix(magic=rng.randbytes(4)) + valid[frame.PREFIX_SIZE :]
            case "version":
                data = prefix(version=rng.choice([0, 2, 255]))
            case "kind":
                data = prefix(kind=rng.choice([0, 2, 3, 255]))
            case "flags":
                data = prefix(flags=rng.randrange(1, 1 << 16))
            case "header_over":
                over = rng.choice([frame.MAX_HEADER_BYTES + 1, 1 << 31, U32])
                data = prefix(header_len=over) + rng.randbytes(rng.randrange(64))
            case "payload_over":
                over = rng.choice([frame.MAX_PAYLOAD_BYTES + 1, 1 << 63, U64])
                data = prefix(payload_len=over) + rng.randbytes(rng.randrange(64))
            case "header_at_limit":  # then only part of it
                data = prefix(header_len=frame.MAX_HEADER_BYTES) + rng.randbytes(
                    rng.choice([0, 10, 60_000, 300_000])
                )
            case "payload_at_limit":
                data = prefix(payload_len=frame.MAX_PAYLOAD_BYTES) + rng.randbytes(
                    rng.choice([0, 10, 100_000])
                )
            case "random_header":
                junk = rng.randbytes(rng.randrange(1, 300))
                data = prefix(header_len=len(junk)) + junk
            case "second_hello":
                data = hello()
            case "flipped":
                data = self.flipped()
            case "cut_prefix":
                data = valid[: rng.randrange(1, frame.PREFIX_SIZE)]
            case "cut_header":
                data = valid[: rng.randrange(frame.PREFIX_SIZE, len(valid))]
            case _:  # "declared_payload": a write or ping of up to 256 MiB, mostly unsent
                size = rng.choice([200 << 20, 200 << 20, frame.MAX_PAYLOAD_BYTES, 64 << 20])
                h = self.base()
                if rng.random() < 0.5:
                    h.write.chunk_id, h.write.length = self.fresh_chunk_id(), size
                    h.write.chain.CopyFrom(chain(FUZZ_CHAIN))
                    h.write.chunk_size = 1 << 26
                else:
                    h.ping.sent_monotonic_ns = 1
                data = frame.encode(h, size) + rng.randbytes(rng.choice([0, 1, 65_536, 500_000]))
        return kind, data

    # -- connections -----------------------------------------------------------

    def connection(self, max_frames: int) -> Script:
        rng = self.rng
        parts: list[bytes] = []
        kinds: list[str] = []
        opening = rng.choices(list(OPENINGS), list(OPENINGS.values()))[0]
        if opening == "hello":
            parts.append(
                hello(
                    node_id=rng.choice([0, U32]),
                    node_type=rng.choice([0, 1, 2, 3, 99]),
                    client_id=rng.randbytes(rng.choice([0, 16, 100])),
                    name=rng.choice(["", "fuzz", "\u2603" * 50]),
                )
            )
        elif opening == "other_cluster":
            parts.append(hello(rng.choice(["", "other", "x" * 1000, CLUSTER + "\x00"])))
        elif opening == "hello_payload":
            hdr = data_pb2.RequestHeader(hello=identity(CLUSTER))
            parts.append(frame.encode(hdr, 5) + b"12345")
        kinds.append(opening)
        for _ in range(rng.randrange(0, 31)):
            if len(parts) >= max_frames - 1:
                break
            kind = rng.choices(list(SURVIVABLE_KINDS), list(SURVIVABLE_KINDS.values()))[0]
            parts.append(getattr(self, kind)())
            kinds.append(kind)
        if not parts or (rng.random() < 0.85 and len(parts) < max_frames):
            kind, data = self.fatal()
            parts.append(data)
            kinds.append(kind)
        ending = rng.choices(["close", "abort", "read", "half_close", "hold"], [3, 2, 3, 1, 2])[0]
        return Script(b"".join(parts), len(parts), ending, kinds, rng.uniform(0.05, 0.25))

    def scripts(self, total_frames: int) -> Iterator[Script]:
        sent = 0
        while sent < total_frames:  # each script has >= 1 frame
            script = self.connection(total_frames - sent)
            sent += script.frames
            yield script


# ---- the fuzzer --------------------------------------------------------------


@dataclass
class FuzzStats:
    connections: int = 0
    frames: int = 0
    bytes_sent: int = 0
    bytes_answered: int = 0
    send_errors: int = 0
    endings: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)  # openings and frames


async def run_script(port: int, script: Script, stats: FuzzStats) -> None:
    """Send one script; every step bounded, no wait for answers past a fraction of a second."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except (OSError, TimeoutError):
        stats.send_errors += 1
        return
    stats.connections += 1
    stats.endings[script.ending] += 1
    stats.kinds.update(script.kinds)
    try:
        writer.write(script.data)
        stats.frames += script.frames
        stats.bytes_sent += len(script.data)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(writer.drain(), 1.0)
        if script.ending == "abort":
            sock = writer.get_extra_info("socket")
            if sock is not None:  # None: the server closed it already
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif script.ending in ("read", "half_close"):
            if script.ending == "half_close" and writer.can_write_eof():
                writer.write_eof()
            deadline = time.monotonic() + 0.3
            for _ in range(256):  # <= 256 reads of <= 1 MiB, within 0.3 s
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    got = await asyncio.wait_for(reader.read(1 << 20), left)
                except TimeoutError:
                    break
                if not got:
                    break
                stats.bytes_answered += len(got)
        elif script.ending == "hold":
            await asyncio.sleep(script.hold_s)
    except (OSError, RuntimeError):
        stats.send_errors += 1  # the server closed on us: expected
    finally:
        writer.transport.abort()


def fuzz(port: int, known: list[bytes]) -> FuzzStats:
    """Run all scripts, CONCURRENCY connections at a time, within FUZZ_BUDGET_S."""
    stats = FuzzStats()
    scripts = FrameMaker(random.Random(SEED), known).scripts(FRAMES)

    async def worker(deadline: float) -> None:
        for script in scripts:  # shared iterator: bounded by FRAMES
            if time.monotonic() > deadline:
                return
            await run_script(port, script, stats)

    async def main() -> None:
        deadline = time.monotonic() + FUZZ_BUDGET_S
        await asyncio.gather(*(worker(deadline) for _ in range(CONCURRENCY)))

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    return stats


# ---- the good client -----------------------------------------------------------


class GoodReader(threading.Thread):
    """Reads the known chunks until stopped, checking every byte; bounded to 90 s."""

    def __init__(self, node: StorageNode, known: dict[bytes, bytes]) -> None:
        super().__init__(daemon=True)
        self.node, self.known = node, known
        self.reads = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.started_reading = threading.Event()

    def run(self) -> None:
        try:
            run_client(self.body, timeout_s=90)
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.started_reading.set()

    async def body(self, client: StorageClient) -> None:
        rng = random.Random(SEED + 1)
        ids = list(self.known)
        deadline = time.monotonic() + 85
        while not self.stop.is_set() and time.monotonic() < deadline:  # bounded in time
            batch = []
            for _ in range(1 if rng.random() < 0.8 else 8):
                cid = rng.choice(ids)
                data = self.known[cid]
                offset = rng.randrange(len(data))
                length = rng.randrange(1, min(3 * B, len(data) - offset) + 1)
                batch.append(
                    (
                        data[offset : offset + length],
                        RangeRead(
                            cid, chain(KNOWN_CHAIN), offset, length, memoryview(bytearray(length))
                        ),
                    )
                )
            async with asyncio.timeout(READ_TIMEOUT_S):
                results = await client.read(self.node.address, [r for _, r in batch])
            for (want, r), got in zip(batch, results, strict=True):
                assert got.error is None, got.error
                assert got.length == len(want) and bytes(r.dest) == want
            self.reads += 1
            self.started_reading.set()


# ---- the test ------------------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[StorageNode]:
    started = start_node(
        tmp_path_factory.mktemp("fuzz"), chains=2, max_receive_bytes=RECEIVE_BUDGET
    )
    yield started
    started.stop()


def write_known(node: StorageNode) -> dict[bytes, bytes]:
    rng = random.Random(SEED + 2)
    known = {
        chunk_id(9000, i): rng.randbytes(size)
        for i, size in enumerate([CHUNK, CHUNK // 2 + 123, 3 * B + 7, 1])
    }

    async def body(client: StorageClient) -> None:
        for cid, data in known.items():
            await client.write(node.address, cid, chain(KNOWN_CHAIN), 0, data, chunk_size=CHUNK)

    run_client(body)
    return known


def test_fuzzed_frames_leave_the_node_serving_in_bounded_memory(node: StorageNode) -> None:
    pid = node.proc.pid
    known = write_known(node)
    reader = GoodReader(node, known)
    reader.start()
    assert reader.started_reading.wait(30) and reader.error is None, reader.error
    baseline_rss = proc_status(pid, "VmRSS")
    baseline_fds = open_fds(pid)
    hwm_reset = reset_peak_rss(pid)
    sampler = RssSampler(pid)
    sampler.start()

    started = time.monotonic()
    try:
        stats = fuzz(node.port("data"), list(known))
    finally:
        fuzz_s = time.monotonic() - started
        sampler.stop.set()
        sampler.join(5)
    reads_during = reader.reads
    after_rss = proc_status(pid, "VmRSS")
    peak_rss = max(sampler.peak, proc_status(pid, "VmHWM") if hwm_reset else 0)

    # The node still serves: the good client goes on a little, then a fresh client writes.
    for _ in range(200):  # bounded: 10 s
        if reader.reads >= reads_during + 20 or not reader.is_alive():
            break
        time.sleep(0.05)
    reader.stop.set()
    reader.join(READ_TIMEOUT_S + 5)
    assert not reader.is_alive()
    assert reader.error is None, reader.error
    assert node.proc.poll() is None, "the storage node died"

    big = random.Random(SEED + 3).randbytes(64 << 20)

    async def still_serving(client: StorageClient) -> None:
        # 64 MiB of the 320 MiB budget: fails if the fuzz leaked a 256 MiB reservation.
        cid = chunk_id(9001, 0)
        await client.write(node.address, cid, chain(FUZZ_CHAIN), 0, big, chunk_size=len(big))
        dest = memoryview(bytearray(B))
        wanted = RangeRead(cid, chain(FUZZ_CHAIN), len(big) - B, B, dest)
        [got] = await client.read(node.address, [wanted])
        assert got.error is None and bytes(dest) == big[-B:]

    run_client(still_serving)

    fds = open_fds(pid)
    for _ in range(100):  # bounded: 5 s for the node to finish closing fuzz connections
        if fds <= baseline_fds + FD_SLACK:
            break
        time.sleep(0.05)
        fds = open_fds(pid)

    mib = 1 << 20
    print(
        f"\nfuzz: {stats.frames} frames, {stats.connections} connections, "
        f"{stats.bytes_sent / mib:.1f} MiB sent, {stats.bytes_answered / mib:.1f} MiB answered, "
        f"{stats.send_errors} sends cut short, endings {dict(stats.endings)}, {fuzz_s:.1f} s; "
        f"good reads {reader.reads} ({reads_during} during the fuzz); "
        f"RSS baseline {baseline_rss / mib:.1f} MiB, peak {peak_rss / mib:.1f} MiB "
        f"({sampler.samples} samples, VmHWM {'on' if hwm_reset else 'off'}), "
        f"after {after_rss / mib:.1f} MiB; fds {baseline_fds} -> {fds}"
    )
    assert stats.frames == FRAMES, f"only {stats.frames} frames sent in {FUZZ_BUDGET_S} s"
    assert stats.connections >= 300
    missing = {*FATAL_KINDS, *SURVIVABLE_KINDS, *OPENINGS} - set(stats.kinds)
    assert not missing, f"the fuzz never sent {missing}"
    assert reads_during >= MIN_GOOD_READS
    assert peak_rss <= baseline_rss + RSS_SLACK, (
        f"node RSS peaked at {peak_rss / mib:.0f} MiB, baseline {baseline_rss / mib:.0f} MiB"
    )
    assert fds <= baseline_fds + FD_SLACK, (
        f"node holds {fds} fds, {baseline_fds} before: {fd_kinds(pid)}"
    )
    log = Path(node.config.log_file).read_text()
    assert "Traceback" not in log, "the node logged an unexpected exception"
