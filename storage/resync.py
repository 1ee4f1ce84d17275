"""Resync: the serving tail of a chain brings its SYNCING successor up to date.

mgmtd makes a returning target SYNCING, one per chain, after the serving
ones (flyfs.chains).  From then on writes reach it as full-chunk replaces
(flyfs.storage.craq), and the chain's serving tail runs one sync here:

1. list the syncing target's chunks (metadata and block CRCs), then its
   own;
2. for each chunk of either list, under this replica's lock of that chunk
   (so no update of it is half way down the chain, and no remove), look
   again: nothing committed here means the receiver must not have it
   either (removed there); otherwise compare committed version, length,
   block CRCs and client map, and push the whole committed version where
   they differ (the receiver installs exactly that: data, versions and
   client map, never a pending writer's sequence);
4. send SyncDone under the chain version it ran under; the target then
   reports UPTODATE for that version, and mgmtd makes it SERVING.

Resumable by construction: an interrupted sync (either side killed, the
chain changed) is started again from step 1, and chunks that already
match cost one metadata comparison.  Client I/O on the chain waits for at
most one chunk's push (the lock is held per chunk).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from flyfs.checksums import crc32c
from flyfs.errors import Code, FlyfsError
from flyfs.proto import common_pb2, data_pb2, mgmtd_pb2
from flyfs.routing import Routing
from flyfs.tasks import cancel_and_wait

from .chunk_locks import ChunkLocks
from .chunk_meta import ChunkInfo
from .forwarding import Forwarder
from .targets import Target, Targets

log = logging.getLogger("flyfs.storage.resync")

T = TypeVar("T")

POLL_S = 0.2  # how often routing is checked for a sync to start or stop
RETRY_S = 1.0  # after a failed sync, before it starts again
PUSHES_IN_FLIGHT = 4
LIST_PAGE = 1000
MAX_PAGES = 1 << 20  # bounds the listing loop; a target holds far fewer pages

Job = tuple[int, int, int]
"""(chain id, chain version, syncing target id)."""

RunIo = Callable[[Callable[[], T]], Awaitable[T]]


def job_of(routing: Routing, target_id: int) -> Job | None:
    """The sync `target_id` must push, if it is the serving tail of a chain with a SYNCING
    target."""
    chain_id = routing.target(target_id).chain_id
    if not chain_id:
        return None
    serving = routing.serving(chain_id)
    syncing = routing.syncing(chain_id)
    if syncing is None or not serving or serving[-1] != target_id:
        return None
    return chain_id, routing.chain(chain_id).chain_version, syncing


def same_committed(mine: ChunkInfo, theirs: data_pb2.ChunkMeta) -> bool:
    """Whether the receiver holds exactly this committed version, with the same client
    map (a retry must be recognised there as here), and nothing pending."""
    return (
        theirs.commit_ver == mine.commit_ver
        and theirs.update_ver == theirs.commit_ver
        and theirs.length == mine.length
        and tuple(theirs.block_crc32c) == mine.block_crcs
        and tuple((bytes(c.client_id), c.sequence) for c in theirs.clients) == mine.clients
    )


class Resyncer:
    def __init__(
        self,
        targets: Targets,
        routing: Callable[[], Routing],
        fence: Callable[[], None],
        locks: ChunkLocks,
        forwarder: Forwarder,
        run_io: RunIo,
        bytes_per_s: int = 0,
        on_bad_chunk: Callable[[Target, bytes], None] | None = None,
    ) -> None:
        self._targets = targets
        self._bytes_per_s = bytes_per_s  # 0: unlimited
        self._on_bad_chunk = on_bad_chunk  # the repair hook
        self._routing = routing
        self._fence = fence  # raises FENCED: a fenced node pushes nothing
        self._locks = locks
        self._forwarder = forwarder
        self._run_io = run_io
        self._running: dict[int, tuple[Job, asyncio.Task[None]]] = {}  # by local target id
        self._retry_at: dict[int, float] = {}

    async def run(self) -> None:
        """Start and stop syncs as routing says, until cancelled."""
        try:
            while True:
                self.poll()
                await asyncio.sleep(POLL_S)
        finally:
            for _, task in self._running.values():
                await cancel_and_wait(task)

    def poll(self) -> None:
        routing = self._routing()
        now = time.monotonic()
        for target in self._targets:
            try:
                job = job_of(routing, target.target_id)
            except FlyfsError:
                job = None  # not in routing yet
            running = self._running.get(target.target_id)
            if running is not None and running[0] != job:
                running[1].cancel()
                del self._running[target.target_id]
                target.sync = None
                running = None
            if job is None or running is not None:
                continue
            if now < self._retry_at.get(target.target_id, 0.0):
                continue
            task = asyncio.create_task(self._sync(target, job), name=f"flyfs-resync-{job}")
            self._running[target.target_id] = (job, task)

    async def _sync(self, target: Target, job: Job) -> None:
        chain_id, version, to = job
        started = time.monotonic()
        target.sync = mgmtd_pb2.SyncProgress(
            to_target_id=to, started_unix_ms=int(time.time() * 1000)
        )
        log.info(
            "resync of target %d from %d starts (chain %d v%d)",
            to,
            target.target_id,
            chain_id,
            version,
        )
        try:
            await self._push_all(target, job, target.sync)
        except Exception as failure:  # a sync that fails for any reason starts over
            exc = failure.exceptions[0] if isinstance(failure, ExceptionGroup) else failure
            expected = isinstance(exc, FlyfsError | OSError)
            log.warning(
                "resync of target %d from %d failed, will start again: %s",
                to,
                target.target_id,
                exc,
                exc_info=not expected,
            )
            self._retry_at[target.target_id] = time.monotonic() + RETRY_S
            self._running.pop(target.target_id, None)
            target.sync = None
            return
        progress = target.sync
        seconds = time.monotonic() - started
        log.info(
            "resync of target %d from %d done: %d of %d chunks pushed, %.1f MB in %.1f s",
            to,
            target.target_id,
            progress.chunks_done,
            progress.chunks_total,
            progress.bytes_done / 1e6,
            seconds,
        )

    async def _push_all(self, target: Target, job: Job, progress: mgmtd_pb2.SyncProgress) -> None:
        chain_id, version, to = job
        chain = common_pb2.VersionedChainId(chain_id=chain_id, chain_version=version)
        address = self._routing().data_address(to)
        theirs = await self._list_remote(address, chain)
        mine = await self._run_io(target.store.chunk_ids)
        mine_set = set(mine)
        # Chunks only the receiver has go through the same per-chunk step, under this
        # replica's lock: one created here since the listing is pushed, not removed.
        todo = mine + [cid for cid in theirs if cid not in mine_set]
        progress.chunks_total = len(todo)
        started = time.monotonic()
        pending = iter(todo)  # shared: each pusher takes the next chunk

        async def pusher() -> None:
            for cid in pending:  # bounded by the listing
                await self._sync_chunk(target, address, chain, cid, theirs.get(cid), progress)
                if self._bytes_per_s:  # paced outside the chunk's lock
                    ahead = progress.bytes_done / self._bytes_per_s - (time.monotonic() - started)
                    await asyncio.sleep(max(0.0, ahead))

        # A few pushers, not a task per chunk: a target may hold millions of chunks.
        async with asyncio.TaskGroup() as pushes:  # the first failure cancels the rest
            for _ in range(PUSHES_IN_FLIGHT):
                pushes.create_task(pusher())
        self._fence()
        done = data_pb2.RequestHeader()
        done.sync_done.chain.CopyFrom(chain)
        done.sync_done.target_id = to
        await self._forwarder.call(address, done)

    async def _list_remote(
        self, address: tuple[str, int], chain: common_pb2.VersionedChainId
    ) -> dict[bytes, data_pb2.ChunkMeta]:
        found: dict[bytes, data_pb2.ChunkMeta] = {}
        begin = b""
        for _ in range(MAX_PAGES):
            header = data_pb2.RequestHeader()
            ask = header.list_chunks
            ask.chain.CopyFrom(chain)
            ask.begin, ask.limit, ask.with_block_checksums = begin, LIST_PAGE, True
            answer = (await self._forwarder.call(address, header)).list_chunks
            found.update((bytes(m.chunk_id), m) for m in answer.chunks)
            begin = answer.next_begin
            if not begin:
                break
        return found

    async def _remove(
        self,
        address: tuple[str, int],
        chain: common_pb2.VersionedChainId,
        me: int,
        chunk_id: bytes,
    ) -> None:
        header = data_pb2.RequestHeader()
        header.remove.chain.CopyFrom(chain)
        header.remove.chunk_ids.append(chunk_id)
        header.remove.from_target_id = me
        await self._forwarder.call(address, header)

    async def _sync_chunk(
        self,
        target: Target,
        address: tuple[str, int],
        chain: common_pb2.VersionedChainId,
        cid: bytes,
        theirs: data_pb2.ChunkMeta | None,
        progress: mgmtd_pb2.SyncProgress,
    ) -> None:
        """Make the receiver's copy of `cid` equal to this committed one (see the module doc)."""
        me, store = target.target_id, target.store
        async with self._locks.hold((me, cid)):
            self._fence()
            mine = await self._run_io(lambda: store.committed_meta(cid))
            if mine is None:
                # Nothing committed here: the chain holds no such chunk (a pending
                # version, if any, is re-forwarded whole by the chunk's next update).
                if theirs is not None:
                    await self._remove(address, chain, me, cid)
            elif theirs is None or not same_committed(mine, theirs):
                try:  # 1 copy kernel -> user (read and verified), 0 more to the socket
                    data = await self._run_io(lambda: store.read(cid, 0, mine.length))
                except FlyfsError as exc:
                    if exc.code == Code.CHECKSUM_MISMATCH and self._on_bad_chunk is not None:
                        self._on_bad_chunk(target, cid)  # the sync starts over once repaired
                    raise
                header = data_pb2.RequestHeader()
                w = header.write
                w.chunk_id, w.offset, w.length, w.chunk_size = cid, 0, len(data), mine.chunk_size
                w.chain.CopyFrom(chain)
                w.from_target_id, w.full_chunk_replace = me, True
                w.payload_crc32c = crc32c(data)
                w.install.CopyFrom(mine.to_proto())
                await self._forwarder.call(address, header, memoryview(data))
                progress.bytes_done += len(data)
        progress.chunks_done += 1
