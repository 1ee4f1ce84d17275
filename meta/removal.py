"""The removal queue's consumer: chunks of retired inodes, deleted in the background.

A record becomes due at its not-before time; a due record whose inode still
has write sessions waits for them to close or be pruned.  The chunks are
removed through a `ChunkRemover` (storage, batched per chain, from issue 6)
outside any transaction, then the record and the inode go in one
transaction.  Removing is idempotent, so two meta servers collecting the
same record at once do no harm.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from flyfs.kv import Database, ReadTransaction, Transaction, prefix_end
from flyfs.proto import meta_pb2

from . import schema

log = logging.getLogger(__name__)


class ChunkRemover(Protocol):
    def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        """Delete every chunk of `record.inode_id` (idempotent; missing chunks are fine)."""


class NoStorage:
    """The remover until storage exists: there are no chunks to delete."""

    def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        return None


class RemovalCollector:
    def __init__(self, db: Database, remover: ChunkRemover, batch: int = 128):
        self.db, self.remover, self.batch = db, remover, batch

    def due(self, tr: ReadTransaction, now_ms: int) -> list[tuple[bytes, meta_pb2.RemovalRecord]]:
        begin, end = schema.removals_due(now_ms)
        ready = []
        for key, raw in tr.snapshot_get_range(begin, end, limit=self.batch):
            record = meta_pb2.RemovalRecord.FromString(raw)
            sessions = schema.session_prefix(record.inode_id)
            if not tr.snapshot_get_range(sessions, prefix_end(sessions), limit=1):
                ready.append((key, record))
        return ready

    def run_once(self, now_ms: int | None = None) -> int:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        done = 0
        for key, record in self.db.read(lambda tr: self.due(tr, now_ms)):
            self.remover.remove_chunks(record)
            self.db.run(lambda tr, k=key, r=record: self.finish(tr, k, r), idempotent=True)
            log.info(
                "removed inode %d (%s, %d bytes)", record.inode_id, record.reason, record.length
            )
            done += 1
        return done

    @staticmethod
    def finish(tr: Transaction, key: bytes, record: meta_pb2.RemovalRecord) -> None:
        tr.clear(key)
        inode = schema.get_inode(tr, record.inode_id)
        if inode is not None and inode.unlinked:
            tr.clear(schema.inode_key(record.inode_id))
