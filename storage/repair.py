"""Repair: a chunk whose blocks fail their checksums is re-copied from a good replica.

Reports come from readers (ReportBadChunk: a client saw a mismatch and read
another replica) and from this node's scrubber.  Under the chunk's lock,
so no update of it is half way, the node verifies its copy again; if it is
bad, it reads the whole chunk from another SERVING replica of the chain
(verified against that replica's block CRCs on receipt) and installs it
only if it is the same committed version and matches this copy's own
block CRCs (the data rotted, not the metadata, which has a CRC of its own).
Each repair is logged and counted (TargetReport.repaired_chunks).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from flyfs.errors import FlyfsError
from flyfs.routing import Routing
from flyfs.storage_client import RangeRead

from .chunk_locks import ChunkLocks
from .forwarding import Forwarder
from .targets import Target

log = logging.getLogger("flyfs.storage.repair")

T = TypeVar("T")
RunIo = Callable[[Callable[[], T]], Awaitable[T]]


class Repairer:
    def __init__(
        self,
        routing: Callable[[], Routing],
        locks: ChunkLocks,
        forwarder: Forwarder,
        run_io: RunIo,
    ) -> None:
        self._routing = routing
        self._locks = locks
        self._forwarder = forwarder
        self._run_io = run_io
        self._loop = asyncio.get_running_loop()
        self._queued: set[tuple[int, bytes]] = set()
        self._queued_lock = threading.Lock()
        self._tasks: set[asyncio.Future[bool]] = set()

    def request(self, target: Target, chunk_id: bytes) -> None:
        """Repair `chunk_id` of `target` soon; from any thread, once while one is queued."""
        key = (target.target_id, bytes(chunk_id))
        with self._queued_lock:
            if key in self._queued:
                return
            self._queued.add(key)
        job = asyncio.run_coroutine_threadsafe(self._repair_queued(target, key[1]), self._loop)
        self._tasks.add(job)  # type: ignore[arg-type]
        job.add_done_callback(self._tasks.discard)  # type: ignore[arg-type]

    async def _repair_queued(self, target: Target, chunk_id: bytes) -> bool:
        try:
            return await self.repair(target, chunk_id)
        except (FlyfsError, OSError) as exc:
            log.error(
                "repair of chunk %s on target %d failed: %s", chunk_id.hex(), target.target_id, exc
            )
            return False
        finally:
            with self._queued_lock:
                self._queued.discard((target.target_id, chunk_id))

    async def repair(self, target: Target, chunk_id: bytes) -> bool:
        """True if a bad copy was replaced by a good replica's."""
        store = target.store
        async with self._locks.hold((target.target_id, chunk_id)):
            info = await self._run_io(lambda: store.meta(chunk_id))
            if info is None or info.commit_ver == 0:
                return False
            if info.pending:
                # Installing would drop the pending version, the only copy here of an
                # update whose retry would then be taken as applied: wait for its commit.
                log.info("repair of chunk %s waits: a version is pending", chunk_id.hex())
                return False
            bad = await self._run_io(lambda: store.verify(chunk_id))
            if not bad:
                return False
            mine = await self._run_io(lambda: store.committed_meta(chunk_id))
            if mine is None:
                return False
            routing = self._routing()
            chain_id = routing.target(target.target_id).chain_id
            others = [t for t in routing.serving(chain_id) if t != target.target_id]
            good = bytearray(mine.length)
            for other in others:
                wanted = RangeRead(
                    chunk_id, routing.versioned(chain_id), 0, mine.length, memoryview(good)
                )
                try:
                    [got] = await self._forwarder.read(routing.data_address(other), [wanted])
                except FlyfsError as exc:
                    log.info("repair: target %d unreachable: %s", other, exc)
                    continue
                if got.error is not None or got.commit_ver != mine.commit_ver:
                    log.info(
                        "repair: target %d has no good v%d: %s",
                        other,
                        mine.commit_ver,
                        got.error or f"it has v{got.commit_ver}",
                    )
                    continue
                if got.length != mine.length:
                    continue
                await self._run_io(
                    lambda: store.install(mine, good, expect_commit_ver=mine.commit_ver)
                )
                target.repaired_chunks += 1
                log.warning(
                    "repaired chunk %s v%d on target %d (bad blocks %s) from target %d;"
                    " %d repairs on this target",
                    chunk_id.hex(),
                    mine.commit_ver,
                    target.target_id,
                    bad,
                    other,
                    target.repaired_chunks,
                )
                return True
            log.error(
                "chunk %s v%d on target %d is bad in blocks %s and no replica of chain %d"
                " has a good copy",
                chunk_id.hex(),
                mine.commit_ver,
                target.target_id,
                bad,
                chain_id,
            )
            return False
