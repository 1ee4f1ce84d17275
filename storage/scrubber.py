"""The scrubber: finds blocks that rotted on disk before a reader does.

Reads take the `sendfile` path and verify nothing on the server, so a bad
block on a replica is only noticed by a client (which then reads another
replica).  The scrubber walks every committed chunk at a bounded rate
(`bytes_per_s`, so it never competes with client I/O for the disk),
verifies each block's CRC32C and reports mismatches: returned from
`run_once`, logged, and passed to `on_mismatch` (the repair hook of the
replication layer: it re-copies the chunk from a good replica).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flyfs.errors import FlyfsError

from .chunk_store import ChunkStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mismatch:
    chunk_id: bytes
    commit_ver: int
    bad_blocks: tuple[int, ...]


class Scrubber:
    def __init__(
        self,
        engine: ChunkStore,
        bytes_per_s: float,
        on_mismatch: Callable[[Mismatch], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bytes_per_s <= 0:
            raise ValueError("bytes_per_s must be positive")
        self.engine = engine
        self.bytes_per_s = bytes_per_s
        self.on_mismatch = on_mismatch
        self._clock = clock
        self._sleep = sleep
        self.chunks_checked = 0
        self.bytes_checked = 0

    def run_once(self, max_seconds: float | None = None) -> list[Mismatch]:
        """One pass over the target's chunks (bounded by their count and `max_seconds`).

        Each chunk is verified under its lock-taken snapshot (`verify` opens
        the committed file with its CRCs); a chunk removed meanwhile is
        skipped.  After each chunk the pass sleeps as long as needed to stay
        under `bytes_per_s` on average.
        """
        start = self._clock()
        found: list[Mismatch] = []
        done = 0
        for cid in self.engine.chunk_ids():
            if max_seconds is not None and self._clock() - start >= max_seconds:
                break
            info = self.engine.meta(cid)
            if info is None or info.commit_ver == 0:
                continue
            try:
                bad = self.engine.verify(cid)
            except FlyfsError as exc:  # removed in between, or unreadable
                log.info("scrub of %s skipped: %s", cid.hex(), exc)
                continue
            self.chunks_checked += 1
            done += info.length
            self.bytes_checked += info.length
            if bad:
                m = Mismatch(cid, info.commit_ver, tuple(bad))
                log.error("scrub: chunk %s v%d bad blocks %s", cid.hex(), m.commit_ver, bad)
                found.append(m)
                if self.on_mismatch is not None:
                    self.on_mismatch(m)
            ahead = done / self.bytes_per_s - (self._clock() - start)
            if ahead > 0:
                self._sleep(ahead)
        return found
