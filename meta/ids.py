"""Inode and session ids from KV counters, handed out in batches per process.

A batch is claimed in its own small transaction (read the counter, advance
it by the batch), so two meta processes never hand out the same id and a
namespace transaction never conflicts on the counter.  A crash wastes the
rest of a batch; ids are 64-bit, so that costs nothing.
"""

from __future__ import annotations

import threading

from flyfs.kv import Database, Transaction, counter, read_counter

from . import schema


class IdAllocator:
    def __init__(self, db: Database, key: bytes, batch: int):
        self._db = db
        self._key = key
        self._batch = batch
        self._next = 0
        self._end = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        """Safe to call from inside a transaction body: the claim is a separate transaction."""
        with self._lock:
            if self._next >= self._end:
                self._next = self._db.run(self._claim)
                self._end = self._next + self._batch
            value = self._next
            self._next += 1
            return value

    def _claim(self, tr: Transaction) -> int:
        start = max(read_counter(tr.get(self._key)), schema.FIRST_FREE_ID)
        tr.set(self._key, counter(start + self._batch))
        return start
