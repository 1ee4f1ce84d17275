"""File bytes on storage: layout -> chunk -> chain -> replica, over the data plane.

The filesystem (`flyfs.client.filesystem`) knows paths and meta; this
module knows only inodes, layouts and routing, and moves bytes.

Reads go to any SERVING replica of a chunk's chain, chosen by chunk index
plus a rotating turn so a file's chunks, and repeated reads of one chunk,
spread over every replica and node.  Ranges bound for one node travel in
one batch request.  A replica that fails (connection lost, not serving,
fenced, a checksum that does not match) is skipped for the next one; a
chunk with a pending version (NOT_COMMITTED) is read from the chain's tail,
asking for its committed bytes: the tail commits first, and a version
pending there was never acknowledged.  A chunk that was never written
reads as zeros (sparse files, truncate up), and so does the part of a
chunk past its stored length; but a chunk is missing only if every
serving replica says so (one that lacks it is skipped, and logged, if
another has it), and a missing chunk sends one question to
meta (`inodes_gone`), and if its inode was removed and collected while a
reader held it the read fails with ESTALE rather than return zeros
(`client.pieces` holds those per-chunk decisions).
Copies: 0 in Python: every range, alone or in a batch, is received straight
into the caller's buffer (`flyfs.storage_client` scatters a batch's payload).

Writes go to the chain's head.  A client has at most one update of a chunk
in flight (the storage protocol's rule, docs/interfaces.md); different
chunks, usually on different chains, go out together up to
`max_chunks_in_flight`.  A retryable failure (routing changed, connection
lost, node fenced) refreshes routing and sends the same request tag again,
so the update applies once.  Copies: 0 in Python (the caller's buffer goes
to the socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from flyfs.backoff import Backoff
from flyfs.errors import Code, FlyfsError, error
from flyfs.layout import chain_of_chunk, chunk_id, chunk_range, file_chains, parse_chunk_id
from flyfs.net import ConnectionPool, identity
from flyfs.proto import common_pb2, data_pb2
from flyfs.request_tags import RequestTagger
from flyfs.routing import Routing
from flyfs.storage_client import RangeRead, StorageClient

from .pieces import NODE_ERRORS, Piece

Address = tuple[str, int]
log = logging.getLogger("flyfs.client")
T = TypeVar("T")

# One batch request carries at most this many ranges and bytes (the server's
# frame limit is 256 MiB; smaller batches overlap better).
BATCH_RANGES = 1024
BATCH_BYTES = 64 << 20
# A piece this large goes in a request of its own, so a big read spreads over the
# node's connections; smaller ones share one request per node (fewer round trips).
ALONE_BYTES = 1 << 20
_ROUTING_ERRORS = frozenset(
    {
        Code.ROUTING_STALE,
        Code.CHAIN_VERSION_MISMATCH,
        Code.CHAIN_UNAVAILABLE,
        Code.TARGET_NOT_SERVING,
    }
)
# Errors after which a read tries another replica.
_OTHER_REPLICA = frozenset(
    {
        Code.CONNECTION_LOST,
        Code.UNAVAILABLE,
        Code.TIMEOUT,
        Code.TARGET_NOT_SERVING,
        Code.FENCED,
        Code.CHECKSUM_MISMATCH,
        Code.CHAIN_VERSION_MISMATCH,
        Code.ROUTING_STALE,
        Code.NOT_COMMITTED,
    }
)


class RoutingSource(Protocol):
    """The newest routing this client has, and a way to ask mgmtd for newer."""

    @property
    def current(self) -> Routing: ...

    def refresh(self, min_version: int = 0) -> Awaitable[Routing]: ...


@dataclass(frozen=True)
class RangeInto:
    """File bytes `[offset, offset + len(dest))` of one inode, read into `dest`."""

    inode_id: int
    layout: common_pb2.Layout
    file_length: int
    offset: int
    dest: memoryview


class ChunkIO:
    def __init__(
        self,
        cluster_id: str,
        routing: RoutingSource,
        *,
        max_per_address: int = 4,
        timeout_s: float = 30.0,
        max_chunks_in_flight: int = 8,
        retry_window_s: float = 60.0,
        inodes_gone: Callable[[list[int]], Awaitable[set[int]]] | None = None,
    ) -> None:
        self.cluster_id = cluster_id
        # Which of these inodes no longer exist (meta): a chunk missing on storage
        # is a hole of a live file, or the remains of a removed one (ESTALE).
        self.inodes_gone = inodes_gone
        self.routing = routing
        self.max_per_address = max_per_address
        self.timeout_s = timeout_s
        self.max_chunks_in_flight = max_chunks_in_flight
        # How long a read or write keeps retrying through failover: it must outlast
        # mgmtd's lease plus margin, after which a dead replica leaves its chain.
        self.retry_window_s = retry_window_s
        self._tagger = RequestTagger()
        self._reports: set[asyncio.Task[None]] = set()  # bad-chunk reports in flight
        self._turn = itertools.count()
        # A storage client (and its pool of connections) per event loop of this
        # process: a sequential reader fetches on more than one (`client.loops`).
        self._storage: dict[asyncio.AbstractEventLoop, StorageClient] = {}
        self._storage_lock = threading.Lock()  # those loops run in different threads
        self._pid = os.getpid()
        # One lock per chunk being written (weak: gone when no write holds it).
        self._chunk_locks: weakref.WeakValueDictionary[bytes, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # ---- connections ---------------------------------------------------------------------------

    def _client(self) -> StorageClient:
        """The storage client of this process and event loop, made on first use."""
        if self._pid != os.getpid():
            self.forget_after_fork()
        loop = asyncio.get_running_loop()
        with self._storage_lock:
            storage = self._storage.get(loop)
            if storage is None:
                for gone in [other for other in self._storage if other.is_closed()]:
                    del self._storage[gone]  # its connections went with it
                pool = ConnectionPool(
                    identity(
                        self.cluster_id, name="flyfs-client", client_id=self._tagger.client_id
                    ),
                    max_per_address=self.max_per_address,
                    timeout_s=self.timeout_s,
                )
                storage = self._storage[loop] = StorageClient(pool, self._tagger)
            return storage

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's pools (their loops and sockets are not ours)."""
        self._storage = {}
        self._storage_lock = threading.Lock()  # a parent's thread may have held it
        self._pid = os.getpid()
        self._tagger = RequestTagger()  # a forked child: its own sequence space
        self._chunk_locks = weakref.WeakValueDictionary()

    async def close(self) -> None:
        """Close every loop's pool, each on its own loop."""
        with self._storage_lock:
            pools, self._storage = self._storage, {}
        here = asyncio.get_running_loop()
        for loop, storage in pools.items():
            if loop is here:
                await storage.pool.close()
            elif loop.is_running():
                closing = asyncio.run_coroutine_threadsafe(storage.pool.close(), loop)
                await asyncio.wrap_future(closing)

    # ---- reads ---------------------------------------------------------------------------------

    async def read_into(
        self,
        inode_id: int,
        layout: common_pb2.Layout,
        file_length: int,
        offset: int,
        dest: memoryview,
    ) -> int:
        """Read file bytes from `offset` into `dest`, clipped to `file_length`; the count."""
        [count] = await self.read_ranges_into(
            [RangeInto(inode_id, layout, file_length, offset, dest)]
        )
        return count

    async def read_ranges_into(self, reads: Sequence[RangeInto]) -> list[int]:
        """Many ranges of many files; one batch request per storage node per round."""
        counts = []
        pieces: list[Piece] = []
        routing = self.routing.current
        chains_of: dict[int, list[int]] = {}  # per inode: shuffled samples hit few files
        for read in reads:
            if read.offset < 0:
                raise error(Code.BAD_RANGE, f"read at offset {read.offset}")
            count = max(0, min(len(read.dest), read.file_length - read.offset))
            counts.append(count)
            if count:
                chains = chains_of.get(read.inode_id)
                if chains is None:
                    chains = chains_of[read.inode_id] = self._chains(routing, read.layout)
                pieces += self._plan(chains, read, count)
        todo = pieces
        backoff = Backoff(self.retry_window_s, last_try_at_deadline=True)
        while todo:  # bounded: by the retry window, and rounds by the backoff in it
            failed = await self._read_round(todo)
            todo = [piece for piece, _ in failed]
            # A chunk one replica lacks is asked of the next at once (each such failure
            # adds a replica to `absent_on`: one round per replica); anything else waits
            # for the chain to settle (a pending version, a node restarting, new routing).
            errors = [exc for piece, exc in failed if not piece.ask_another]
            if errors:
                await self._settle(errors[0], backoff)
        await self._check_holes(pieces)
        return counts

    async def _check_holes(self, pieces: list[Piece]) -> None:
        """ESTALE if a chunk read as a hole belongs to an inode that no longer exists."""
        holes = sorted({parse_chunk_id(p.chunk).inode for p in pieces if p.hole})
        if holes and self.inodes_gone is not None:
            gone = await self.inodes_gone(holes)
            if gone:
                raise error(
                    Code.STALE,
                    f"inode {min(gone)} was removed and its chunks collected while being read",
                )

    async def _settle(self, exc: FlyfsError, backoff: Backoff) -> None:
        """Between retries: newer routing if the old one was refused or a node did not
        answer (it may have restarted on another port, or be leaving its chain); then,
        unless newer routing came, the backoff's wait.  Raises `exc` once the retry
        window is spent."""
        if backoff.expired():
            raise exc
        before = self.routing.current.version
        if exc.code in _ROUTING_ERRORS or exc.code in NODE_ERRORS:
            await self.routing.refresh()
        if exc.code not in _ROUTING_ERRORS or self.routing.current.version == before:
            delay = backoff.next_delay()
            if delay is None:
                raise exc
            await asyncio.sleep(delay)

    @staticmethod
    def _plan(chains: list[int], read: RangeInto, count: int) -> list[Piece]:
        pieces = []
        at = 0
        for piece in chunk_range(read.layout, read.offset, count):
            pieces.append(
                Piece(
                    chain_of_chunk(read.layout, chains, piece.index),
                    chunk_id(read.inode_id, piece.index),
                    piece.offset,
                    read.dest[at : at + piece.length],
                    piece.index,
                )
            )
            at += piece.length
        return pieces

    @staticmethod
    def _chains(routing: Routing, layout: common_pb2.Layout) -> list[int]:
        if layout.chain_ids:
            return file_chains(layout, ())
        table = routing.chain_table(layout.chain_table_id, layout.chain_table_version)
        return file_chains(layout, table.chain_ids)

    async def _read_round(self, pieces: list[Piece]) -> list[tuple[Piece, FlyfsError]]:
        routing = self.routing.current
        by_node: dict[Address, list[Piece]] = {}
        failed: list[tuple[Piece, FlyfsError]] = []
        turn = next(self._turn)
        for piece in pieces:
            piece.ask_another = False
            try:
                piece.target = piece.choose_replica(routing, turn)
                by_node.setdefault(routing.data_address(piece.target), []).append(piece)
            except FlyfsError as exc:
                piece.tries += 1
                failed.append((piece, exc))
        batches = [
            (address, batch)
            for address, node_pieces in by_node.items()
            for tail_only in (False, True)
            for batch in _batches([p for p in node_pieces if p.tail_only == tail_only])
        ]
        if len(batches) == 1:  # most reads: awaited in place, not a task a loop turn later
            results = [await self._read_batch(routing, *batches[0])]
        else:
            results = await _all_or_first_error(
                [self._read_batch(routing, address, batch) for address, batch in batches]
            )
        for batch_failed in results:
            failed += batch_failed
        return failed

    async def _read_batch(
        self, routing: Routing, address: Address, batch: list[Piece]
    ) -> list[tuple[Piece, FlyfsError]]:
        wanted = [
            RangeRead(p.chunk, routing.versioned(p.chain_id), p.offset, len(p.dest), p.dest)
            for p in batch
        ]
        try:
            # At the tail, committed bytes are the chain's: a pending version there was
            # never acknowledged (a forward to a resyncing target failed, a writer gave up).
            results = await self._client().read(address, wanted, batch[0].tail_only)
        except FlyfsError as exc:
            failed = []
            for piece in batch:
                piece.tries += 1
                if piece.is_hole(routing, exc):
                    piece.fill(0, missing=True)
                else:
                    failed.append((piece, exc))
            return failed
        failed = []
        reported: set[bytes] = set()  # one report per bad chunk, however many of its ranges
        for piece, result in zip(batch, results, strict=True):
            exc = result.error
            if exc is None:
                if piece.absent_on:  # or the chunk was written between two rounds
                    log.info(
                        "chunk %s: none on target(s) %s of chain %d, target %d has it",
                        piece.chunk.hex(),
                        sorted(piece.absent_on),
                        piece.chain_id,
                        piece.target,
                    )
                piece.fill(result.length)
                continue
            piece.tries += 1
            if piece.is_hole(routing, exc):
                piece.fill(0, missing=True)
                continue
            if piece.ask_another:
                failed.append((piece, exc))
                continue
            if exc.code == Code.NOT_COMMITTED:
                piece.tail_only = True
            if exc.code == Code.CHECKSUM_MISMATCH and piece.chunk not in reported:
                reported.add(piece.chunk)
                self._report_bad_chunk(address, piece.chunk, routing.versioned(piece.chain_id))
            if exc.code not in _OTHER_REPLICA:
                raise exc
            failed.append((piece, exc))
        return failed

    # ---- writes --------------------------------------------------------------------------------

    async def write(
        self, inode_id: int, layout: common_pb2.Layout, offset: int, data: memoryview
    ) -> None:
        """Write `data` at file `offset`; returns when every replica committed every byte."""
        view = memoryview(data).cast("B")
        chains = self._chains(self.routing.current, layout)
        gate = asyncio.Semaphore(self.max_chunks_in_flight)

        async def one(index: int, within: int, part: memoryview) -> None:
            async with gate:
                await self._write_chunk(
                    chain_of_chunk(layout, chains, index),
                    chunk_id(inode_id, index),
                    within,
                    part,
                    layout.chunk_size,
                )

        jobs = []
        at = 0
        for piece in chunk_range(layout, offset, len(view)):
            jobs.append(one(piece.index, piece.offset, view[at : at + piece.length]))
            at += piece.length
        await _all_or_first_error(jobs)

    async def _write_chunk(
        self, chain_id: int, chunk: bytes, offset: int, data: memoryview, chunk_size: int
    ) -> None:
        lock = self._chunk_locks.get(chunk)
        if lock is None:
            lock = self._chunk_locks[chunk] = asyncio.Lock()
        async with lock:
            tag = self._tagger.tag()
            backoff = Backoff(self.retry_window_s, last_try_at_deadline=True)
            while True:  # bounded by the retry window; the same tag every time: applied once
                routing = self.routing.current
                try:
                    head = routing.head(chain_id)
                    await self._client().write(
                        routing.data_address(head),
                        chunk,
                        routing.versioned(chain_id),
                        offset,
                        data,
                        chunk_size=chunk_size,
                        tag=tag,
                    )
                    return
                except FlyfsError as exc:
                    if not exc.retryable:
                        raise
                    tag = RequestTagger.retry_of(tag)
                    await self._settle(exc, backoff)

    def _report_bad_chunk(
        self, address: Address, chunk: bytes, chain: common_pb2.VersionedChainId
    ) -> None:
        """Tell the node its copy failed our checksums (it repairs it); best effort."""
        header = data_pb2.RequestHeader()
        header.report_bad_chunk.chunk_id = chunk
        header.report_bad_chunk.chain.CopyFrom(chain)

        async def report() -> None:
            with contextlib.suppress(FlyfsError):
                await self._client().call(address, header)

        task = asyncio.create_task(report())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)


def _batches(pieces: list[Piece]) -> list[list[Piece]]:
    batches: list[list[Piece]] = [[p] for p in pieces if len(p.dest) >= ALONE_BYTES]
    small = [p for p in pieces if len(p.dest) < ALONE_BYTES]
    first_small = len(batches)
    size = 0
    for piece in small:
        if (
            len(batches) == first_small
            or len(batches[-1]) >= BATCH_RANGES
            or size + len(piece.dest) > BATCH_BYTES
        ):
            batches.append([])
            size = 0
        batches[-1].append(piece)
        size += len(piece.dest)
    return batches


async def _all_or_first_error(jobs: Sequence[Awaitable[T]]) -> list[T]:
    """Run `jobs` together; their results, or on the first failure cancel the rest and
    raise once they stopped (a read left running would still write into the caller's
    buffers after the caller had its error)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
