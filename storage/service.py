"""The storage node's data-plane handler: requests in, chunk engine calls, replies out.

Updates (writes, truncates) follow CRAQ (flyfs.storage.craq): a client's
update is taken by the chain's head only; under the chunk's lock the head
re-forwards any pending version, stores the update pending as
`commit_ver + 1`, forwards it to its successor and commits when the
successor answered; other replicas take forwards from their predecessor
only, under the same chain version.  Which target serves a chain, and the
chain itself, come from `flyfs.storage.placement` (mgmtd's routing, or the
config for a node run alone, where each target is a chain of one).

Reads send exactly the bytes asked for, with the CRC32C of every 64 KiB
block they touch; for the first and last blocks, covered only in part, the
node adds CRCs of the parts it did not send (`flyfs.checksums`), so the
receiver still verifies every block.  Copies on the
read path: 0 in Python (the engine's file descriptors go out by
`sendfile`).  On the write path: the payload is received into a pooled
buffer (1 copy, kernel → user), written to the version file (1 copy,
user → kernel) and, off the tail, sent on to the successor from the same
buffer (0 copies in Python).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from flyfs.checksums import crc32c, tail_crc
from flyfs.errors import Code, FlyfsError, error
from flyfs.net import FileRegion, Peer, Reply
from flyfs.proto import common_pb2, data_pb2

from .checksums import BLOCK
from .chunk_locks import ChunkLocks
from .chunk_meta import ChunkInfo
from .chunk_store import ReadHandle
from .craq import (
    ChainView,
    Commit,
    Effect,
    Forward,
    Update,
    check_sender,
    client_update,
    forwarded_update,
    run_plan,
)
from .file_io import pread_into
from .forwarding import Forwarder
from .placement import Placement
from .replica import apply_local
from .targets import Target, Targets

log = logging.getLogger("flyfs.storage")

T = TypeVar("T")

MAX_RANGES = 10_000
# Batches up to this many ranges are opened on the event loop, larger ones on a thread.
INLINE_RANGES = 128


_Opened = list[tuple[data_pb2.ReadResult, ReadHandle | None]]


def status_of(exc: FlyfsError) -> common_pb2.Status:
    return common_pb2.Status(code=int(exc.code), message=exc.message)


def default_read_fds() -> int:
    """Half the process's descriptor limit; the rest is for connections, writes and logs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else max(64, soft // 2)


def _discard(discard: Callable[[T], None] | None, job: asyncio.Future[T]) -> None:
    if not job.cancelled() and job.exception() is None and discard is not None:
        discard(job.result())


def edge_crcs(handle: ReadHandle) -> tuple[int, int]:
    """`head` and `tail` CRCs for the blocks the range covers only in part (flyfs.checksums).

    Reads the unsent parts of the first and last blocks (at most 2 x 64 KiB,
    1 copy into user space each, into a reused per-thread buffer): cheaper
    than sending them.
    """
    scratch = _edge_scratch()
    if handle.length == 0:
        return 0, 0
    chunk_start = handle.file_offset - handle.offset  # file position of chunk byte 0
    first = handle.first_block * BLOCK
    end = handle.offset + handle.length
    last = (end - 1) // BLOCK * BLOCK
    stop = min(last + BLOCK, handle.chunk_length)
    before = handle.offset - first
    head = 0
    if before:
        head = crc32c(pread_into(handle.fd, scratch[:before], chunk_start + first))
    after = pread_into(handle.fd, scratch[: stop - end], chunk_start + end) if stop > end else b""
    return head, tail_crc(after, end - last)


_edge_buffers = threading.local()


def _edge_scratch() -> memoryview:
    scratch = getattr(_edge_buffers, "view", None)
    if scratch is None:
        scratch = _edge_buffers.view = memoryview(bytearray(BLOCK))
    return scratch


class StorageService:
    def __init__(
        self,
        targets: Targets,
        placement: Placement,
        io_threads: int,
        max_payload_bytes: int,
        max_read_fds: int = 0,
        forwarder: Forwarder | None = None,
    ):
        self.targets = targets
        self.placement = placement
        self.forwarder = forwarder  # None: chains of one, nothing to forward
        # The repair hook, set once the node's repairer exists (storage.server).
        self.on_bad_chunk: Callable[[Target, bytes], None] | None = None
        self.max_payload_bytes = max_payload_bytes
        # Chunk files held open by reads until their reply is sent: past this, ranges are
        # answered UNAVAILABLE (retryable) rather than run the process out of descriptors.
        self.max_read_fds = max_read_fds or default_read_fds()
        self._read_fds = 0
        self._read_fds_lock = threading.Lock()
        self._io = ThreadPoolExecutor(io_threads, thread_name_prefix="chunk-io")
        self.chunk_locks = ChunkLocks()

    def close(self) -> None:
        self._io.shutdown(wait=True)

    async def in_io(self, call: Callable[[], T], discard: Callable[[T], None] | None = None) -> T:
        """`call()` on an I/O thread.

        Cancelled (the request's timeout_ms elapsed, the server is closing),
        this still waits for the thread, which cannot be stopped: it may be
        reading the request's payload buffer, which the server reuses for
        another request once the handler has returned. `discard` undoes a
        result nobody will use (closes the descriptors a read opened).
        """
        job = asyncio.get_running_loop().run_in_executor(self._io, call)
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            job.add_done_callback(functools.partial(_discard, discard))
            await asyncio.wait([job])
            raise

    async def handle(
        self, peer: Peer, header: data_pb2.RequestHeader, payload: memoryview
    ) -> Reply:
        kind = header.WhichOneof("body")
        handler = self._handlers.get(kind)
        if handler is None:
            raise error(Code.NOT_SUPPORTED, f"storage does not serve {kind!r} requests yet")
        return await handler(self, getattr(header, kind), payload)

    # -- reads ---------------------------------------------------------------

    async def read(self, request: data_pb2.ReadRequest, payload: memoryview) -> Reply:
        if len(request.ranges) > MAX_RANGES:
            raise error(Code.BAD_RANGE, f"{len(request.ranges)} ranges; at most {MAX_RANGES}")
        await self._catch_up(wanted.chain for wanted in request.ranges)
        if len(request.ranges) <= INLINE_RANGES:
            # Opening is an in-memory lookup, open(2) and the edge CRCs, ~18 us a
            # range: a thread round trip (0.1-8 ms measured while the loop sits
            # in sendfile) costs more than a batch of 128 (~2.3 ms).
            opened = self._open_ranges(request)
        else:
            opened = await self.in_io(lambda: self._open_ranges(request), self._close_handles)
        response = data_pb2.ResponseHeader()
        parts = []
        for result, handle in opened:
            response.read.results.append(result)
            if handle is not None and handle.length:
                parts.append(FileRegion(handle.fd, handle.file_offset, handle.length))
        return Reply(response, parts, on_sent=lambda _: self._close_handles(opened))

    def _open_ranges(self, request: data_pb2.ReadRequest) -> _Opened:
        opened: _Opened = []
        total = 0
        try:
            for wanted in request.ranges:
                result = data_pb2.ReadResult(checksum_block_size=BLOCK)
                handle = None
                try:
                    store = self._readable(wanted.chain).store
                    handle = store.open_read(wanted.chunk_id, wanted.offset, wanted.length)
                    if handle.pending and not request.committed_on_pending:
                        handle.close()
                        handle = None
                        raise error(Code.NOT_COMMITTED, "a newer version is pending")
                    if handle.fd >= 0 and not self._hold_read_fd():
                        handle.close()
                        handle = None
                        raise error(
                            Code.UNAVAILABLE,
                            f"node busy: reads hold {self.max_read_fds} chunk files open",
                        )
                    total += handle.length
                    if total > self.max_payload_bytes:
                        self._close_handle(handle)
                        handle = None
                        raise error(
                            Code.BAD_RANGE,
                            f"the batch asks more than {self.max_payload_bytes} bytes",
                        )
                    result.offset, result.length = handle.offset, handle.length
                    result.commit_ver, result.chunk_length = handle.commit_ver, handle.chunk_length
                    result.block_crc32c.extend(handle.block_crcs)
                    result.head_crc32c, result.tail_crc32c = edge_crcs(handle)
                except FlyfsError as exc:
                    result.status.CopyFrom(status_of(exc))
                opened.append((result, handle))
        except BaseException:
            self._close_handles(opened)
            raise
        return opened

    def _hold_read_fd(self) -> bool:
        with self._read_fds_lock:
            if self._read_fds >= self.max_read_fds:
                return False
            self._read_fds += 1
            return True

    def _close_handle(self, handle: ReadHandle) -> None:
        if handle.fd >= 0:
            with self._read_fds_lock:
                self._read_fds -= 1
        handle.close()

    def _close_handles(self, opened: _Opened) -> None:
        for _, handle in opened:
            if handle is not None:
                self._close_handle(handle)

    async def _catch_up(self, chains: Iterable[common_pb2.VersionedChainId]) -> None:
        """Fetch newer routing first if a request names chains newer than this node knows.

        A client may see a new chain version (or a new chain) before this
        node's next routing poll; refusing would only make it retry.
        """
        seen = set()
        for chain in chains:
            key = (chain.chain_id, chain.chain_version)
            if key not in seen:
                seen.add(key)
                if self.placement.behind(chain):
                    await self.placement.catch_up()
                    return

    def _readable(self, chain: common_pb2.VersionedChainId) -> Target:
        """The local target of `chain`, if it may serve reads under the sender's chain version."""
        target, view = self.placement.locate(chain)
        view.check_version(chain.chain_version)
        if target.target_id not in view.serving:
            raise error(
                Code.TARGET_NOT_SERVING,
                f"target {target.target_id} is not serving chain {view.chain_id}",
            )
        return target

    # -- updates: CRAQ ---------------------------------------------------------

    async def _update(
        self, chain: common_pb2.VersionedChainId, update: Update, field: str
    ) -> Reply:
        """Run the update's CRAQ plan under the chunk's lock (forwarding included).

        The chain is looked up again once the lock is held: a plan built
        from a view taken before waiting could miss a successor that became
        SYNCING meanwhile, whose resync may already have passed this chunk.
        For the same reason a plan commits only while its view is still the
        chain's (`_check_unchanged`).
        """
        await self._catch_up([chain])
        target, _ = self.placement.locate(chain)
        me = target.target_id
        async with self.chunk_locks.hold((me, update.chunk_id)):
            target, view = self.placement.locate(chain)
            if update.from_target:
                plan = forwarded_update(view, me, update)
            else:
                plan = client_update(view, me, update)

            async def handle(effect: Effect) -> object:
                if isinstance(effect, Forward):
                    return await self._forward(view, effect)
                if isinstance(effect, Commit):
                    self._check_unchanged(chain, view)
                return await self.in_io(lambda: apply_local(target.store, update.chunk_id, effect))

            done = await run_plan(plan, handle)
        response = data_pb2.ResponseHeader()
        answer = getattr(response, field)
        answer.update_ver, answer.commit_ver = done.update_ver, done.commit_ver
        answer.chunk_length, answer.duplicate = done.length, done.duplicate
        return Reply(response)

    def _check_unchanged(self, chain: common_pb2.VersionedChainId, view: ChainView) -> None:
        """CHAIN_VERSION_MISMATCH if the chain moved on since the plan took `view`.

        Why: a plan that took its view before a successor became SYNCING
        does not forward to it; if its Stage was still on disk when the
        resync listed this replica's chunks (a new chunk is listed only once
        staged), neither the resync nor a forward would bring the chunk
        there, SyncDone would make that target SERVING without it, and it
        would read as a hole.  Committing only under an unchanged view closes
        that: a version staged before the change was staged before the
        listing (so the resync pushes it), and a version whose commit is
        refused stays pending, for the writer's retry to forward under the
        new chain.  The cost is one retry of the writes in flight when a
        chain changes.
        """
        _, now = self.placement.locate(chain)
        if now.version != view.version:
            raise error(
                Code.CHAIN_VERSION_MISMATCH,
                f"chain {view.chain_id} moved from version {view.version} to {now.version}"
                " while this update ran: not committed, retry under the new chain",
            )

    async def _forward(self, view: ChainView, effect: Forward):
        if self.forwarder is None:
            raise error(Code.INTERNAL, f"no forwarder for chain {view.chain_id}")
        address = self.placement.address_of(effect.to)
        return await self.forwarder.send(address, effect.update, view.chain_id)

    async def write(self, request: data_pb2.WriteRequest, payload: memoryview) -> Reply:
        if len(payload) != request.length:
            raise error(
                Code.INVALID_ARGUMENT,
                f"write says {request.length} bytes, the frame carries {len(payload)}",
            )
        if request.HasField("install"):
            return await self._install(request, payload)
        tag = request.tag
        update = Update(
            request.chunk_id,
            "write",
            request.chunk_size,
            request.chain.chain_version,
            offset=request.offset,
            data=payload,
            client_id=tag.client_id,
            sequence=tag.sequence,
            retry=tag.attempt > 0,
            payload_crc=request.payload_crc32c,
            full_chunk_replace=request.full_chunk_replace,
            update_ver=request.update_ver,
            from_target=request.from_target_id,
        )
        return await self._update(request.chain, update, "write")

    async def truncate(self, request: data_pb2.TruncateRequest, payload: memoryview) -> Reply:
        tag = request.tag
        update = Update(
            request.chunk_id,
            "truncate",
            request.chunk_size,
            request.chain.chain_version,
            length=request.length,
            client_id=tag.client_id,
            sequence=tag.sequence,
            retry=tag.attempt > 0,
            update_ver=request.update_ver,
            from_target=request.from_target_id,
        )
        return await self._update(request.chain, update, "truncate")

    async def _install(self, request: data_pb2.WriteRequest, payload: memoryview) -> Reply:
        """A resync push: the predecessor's committed chunk, installed exactly, into the
        SYNCING target only, under the chunk's lock."""
        await self._catch_up([request.chain])
        target, _ = self.placement.locate(request.chain)
        me = target.target_id
        if bytes(request.install.chunk_id) != bytes(request.chunk_id):
            raise error(Code.INVALID_ARGUMENT, "install names another chunk than the write")
        async with self.chunk_locks.hold((me, request.chunk_id)):
            target, view = self.placement.locate(request.chain)
            check_sender(view, me, request.from_target_id, request.chain.chain_version)
            if request.from_target_id == 0 or view.syncing != me:
                raise error(
                    Code.ROUTING_STALE,
                    f"target {me} is not being resynced in chain {view.chain_id}"
                    f" (version {view.version})",
                )
            info = ChunkInfo.from_proto(request.install, request.chunk_size)
            current = await self.in_io(lambda: target.store.meta(info.chunk_id))
            if (
                current is not None
                and current.chain_ver == view.version
                and current.update_ver > info.commit_ver
            ):
                # Written by a forward under this very chain version, so newer than this
                # install: one its sender gave up on (a timeout) and that arrives late.
                raise error(
                    Code.STALE_VERSION,
                    f"holds v{current.update_ver} forwarded under chain version"
                    f" {view.version}; the install of v{info.commit_ver} is late",
                    bytes(info.chunk_id).hex(),
                )
            done = await self.in_io(lambda: target.store.install(info, payload))
        response = data_pb2.ResponseHeader()
        w = response.write
        w.update_ver, w.commit_ver, w.chunk_length = done.update_ver, done.commit_ver, done.length
        return Reply(response)

    async def sync_done(self, request: data_pb2.SyncDoneRequest, payload: memoryview) -> Reply:
        """The predecessor finished resyncing this target under the named chain version."""
        await self._catch_up([request.chain])
        target, view = self.placement.locate(request.chain)
        view.check_version(request.chain.chain_version)
        if target.target_id != request.target_id or view.syncing != target.target_id:
            raise error(
                Code.ROUTING_STALE,
                f"target {request.target_id} is not SYNCING in chain {view.chain_id}"
                f" (version {view.version}) on this node",
            )
        target.synced_chain_version = view.version
        log.info("target %d resynced (chain %d v%d)", target.target_id, view.chain_id, view.version)
        response = data_pb2.ResponseHeader()
        response.sync_done.SetInParent()
        return Reply(response)

    async def report_bad_chunk(
        self, request: data_pb2.ReportBadChunkRequest, payload: memoryview
    ) -> Reply:
        """A reader saw this replica's copy fail its checksums: repair it in the background."""
        target, _ = self.placement.locate(request.chain)
        log.warning(
            "reader reports chunk %s v%d on target %d bad in blocks %s",
            bytes(request.chunk_id).hex(),
            request.commit_ver,
            target.target_id,
            list(request.bad_blocks),
        )
        if self.on_bad_chunk is not None:
            self.on_bad_chunk(target, bytes(request.chunk_id))
        response = data_pb2.ResponseHeader()
        response.report_bad_chunk.SetInParent()
        return Reply(response)

    async def remove(self, request: data_pb2.RemoveRequest, payload: memoryview) -> Reply:
        """Remove chunks here, then on the successor: one call at the head covers the chain."""
        await self._catch_up([request.chain])
        target, view = self.placement.locate(request.chain)
        me = target.target_id
        check_sender(view, me, request.from_target_id, request.chain.chain_version)
        store = target.store
        response = data_pb2.ResponseHeader()
        if request.chunk_ids:
            ids = sorted({bytes(c) for c in request.chunk_ids})
        else:
            limit = request.limit or 1000
            infos, next_begin = await self.in_io(
                lambda: store.list_chunks(request.range_begin, request.range_end, limit)
            )
            ids, response.remove.more = [i.chunk_id for i in infos], bool(next_begin)
        # Under each chunk's lock (taken in id order, so two removes never deadlock): a
        # resync push of the chunk is then wholly before the removal or sees it gone.
        async with contextlib.AsyncExitStack() as held:
            for cid in ids:
                await held.enter_async_context(self.chunk_locks.hold((me, cid)))
            response.remove.removed = await self.in_io(lambda: store.remove(ids))
        # The successor as routing has it now: one that became SYNCING while this
        # replica removed must not keep chunks its resync may have passed.
        _, view = self.placement.locate(request.chain)
        successor = view.successor(me)
        if successor is not None and self.forwarder is not None:
            onward = data_pb2.RequestHeader()
            onward.remove.CopyFrom(request)
            onward.remove.from_target_id = me
            onward.remove.chain.chain_version = view.version
            address = self.placement.address_of(successor)
            answer = await self.forwarder.call(address, onward)
            # `removed` counts this replica's; `more` holds while any replica has more.
            response.remove.more = response.remove.more or answer.remove.more
        return Reply(response)

    async def query_last_chunk(
        self, request: data_pb2.QueryLastChunkRequest, payload: memoryview
    ) -> Reply:
        await self._catch_up(q.chain for q in request.queries)

        def query() -> list[data_pb2.LastChunkResult]:
            results = []
            for q in request.queries:
                result = data_pb2.LastChunkResult()
                try:
                    store = self._readable(q.chain).store
                    last, count = store.query_last_chunk(q.inode_id)
                    result.chunk_count = count
                    if last is not None:
                        result.chunk_id, result.length = last.chunk_id, last.length
                        result.commit_ver = last.commit_ver
                except FlyfsError as exc:
                    result.status.CopyFrom(status_of(exc))
                results.append(result)
            return results

        response = data_pb2.ResponseHeader()
        response.query_last_chunk.results.extend(await self.in_io(query))
        return Reply(response)

    async def list_chunks(self, request: data_pb2.ListChunksRequest, payload: memoryview) -> Reply:
        target, _ = self.placement.locate(request.chain)
        store = target.store
        limit = min(request.limit or 1000, 10_000)
        infos, next_begin = await self.in_io(
            lambda: store.list_chunks(request.begin, request.end, limit)
        )
        response = data_pb2.ResponseHeader()
        response.list_chunks.chunks.extend(
            info.to_proto(request.with_block_checksums) for info in infos
        )
        response.list_chunks.next_begin = next_begin
        return Reply(response)

    async def ping(self, request: data_pb2.PingRequest, payload: memoryview) -> Reply:
        response = data_pb2.ResponseHeader()
        response.ping.sent_monotonic_ns = request.sent_monotonic_ns
        return Reply(response)

    _handlers = {
        "read": read,
        "write": write,
        "truncate": truncate,
        "remove": remove,
        "query_last_chunk": query_last_chunk,
        "list_chunks": list_chunks,
        "ping": ping,
        "sync_done": sync_done,
        "report_bad_chunk": report_bad_chunk,
    }
