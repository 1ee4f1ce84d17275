"""The removal queue's consumer: chunks of retired inodes, deleted in the background.

A record becomes due at its not-before time; a due record whose inode still
has write sessions waits for them to close or be pruned.  The chunks are
removed through a `ChunkRemover` (`FileChunks` with storage: one range
remove per chain of the file, which the chain's head applies on every
replica) outside any transaction, then the record and the inode go in one
transaction.  A record whose removal fails stays queued and is tried again
on the next round.  Removing is idempotent, so two meta servers collecting
the same record at once do no harm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from flyfs.errors import FlyfsError
from flyfs.kv import Database, ReadTransaction, Transaction, prefix_end
from flyfs.proto import meta_pb2

from . import schema

log = logging.getLogger(__name__)


class ChunkRemover(Protocol):
    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        """Delete every chunk of `record.inode_id` (idempotent; missing chunks are fine)."""


class NoStorage:
    """The remover of a standalone meta server (no mgmtd): there are no chunks to delete."""

    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        return None


class RemovalCollector:
    def __init__(
        self, db: Database, remover: ChunkRemover, batch: int = 128, concurrency: int = 16
    ):
        self.db, self.remover = db, remover
        self.batch, self.concurrency = batch, concurrency  # records per round; files at once

    def due(self, tr: ReadTransaction, now_ms: int) -> list[tuple[bytes, meta_pb2.RemovalRecord]]:
        begin, end = schema.removals_due(now_ms)
        ready = []
        for key, raw in tr.snapshot_get_range(begin, end, limit=self.batch):
            record = meta_pb2.RemovalRecord.FromString(raw)
            sessions = schema.session_prefix(record.inode_id)
            if not tr.snapshot_get_range(sessions, prefix_end(sessions), limit=1):
                ready.append((key, record))
        return ready

    async def run_once(self, now_ms: int | None = None) -> int:
        """Collect due records, a batch at a time until fewer than a batch are due."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        total = 0
        while True:
            due = await self.db.read_async(lambda tr: self.due(tr, now_ms))
            done = await self.collect(due)
            total += done
            if len(due) < self.batch or not done:
                return total

    async def collect(self, due: list[tuple[bytes, meta_pb2.RemovalRecord]]) -> int:
        """End the unlinked inodes, remove the records' chunks concurrently, then end the
        records in one commit.

        The inodes go first: a reader that meets a removed chunk asks meta whether
        its inode still exists, and must hear no (ESTALE), not read a hole as
        zeros.  The record alone is enough to retry a failed removal.
        """
        if due:
            await self.db.run_async(lambda tr: self.end_inodes(tr, due), idempotent=True)
        slots = asyncio.Semaphore(self.concurrency)
        removed = await asyncio.gather(*(self.remove(record, slots) for _, record in due))
        done = [(key, record) for (key, record), ok in zip(due, removed, strict=True) if ok]
        if done:
            await self.db.run_async(lambda tr: self.finish(tr, done), idempotent=True)
        for _, record in done:
            log.info(
                "removed inode %d (%s, %d bytes)", record.inode_id, record.reason, record.length
            )
        return len(done)

    async def remove(self, record: meta_pb2.RemovalRecord, slots: asyncio.Semaphore) -> bool:
        async with slots:
            try:
                await self.remover.remove_chunks(record)
            except FlyfsError as exc:
                log.warning("removing inode %d failed, will retry: %s", record.inode_id, exc)
                return False
        return True

    @staticmethod
    def end_inodes(tr: Transaction, due: list[tuple[bytes, meta_pb2.RemovalRecord]]) -> None:
        """Clear the inodes of removed files (a truncate's record keeps its live inode)."""
        for _, record in due:
            inode = schema.get_inode(tr, record.inode_id)
            if inode is not None and inode.unlinked:
                tr.clear(schema.inode_key(record.inode_id))

    @staticmethod
    def finish(tr: Transaction, done: list[tuple[bytes, meta_pb2.RemovalRecord]]) -> None:
        for key, _ in done:
            tr.clear(key)
