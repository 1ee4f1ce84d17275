"""What every namespace operation needs besides its transaction."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from flyfs.layout import ChainTableSource

from .config import MetaConfig
from .file_chunks import FileChunks
from .ids import IdAllocator


def now_ns() -> int:
    return time.time_ns()


@dataclass
class MetaContext:
    config: MetaConfig
    inode_ids: IdAllocator
    session_ids: IdAllocator
    chains: ChainTableSource
    rng: random.Random = field(default_factory=random.Random)
    # The file's chunks on storage; None for a standalone server (no mgmtd),
    # which has no chunks to remove and trusts length hints.  Operations only
    # ask whether it is there: storage is called outside transaction bodies.
    chunks: FileChunks | None = None

    @property
    def lease_ms(self) -> int:
        return int(self.config.session_lease_s * 1000)

    @property
    def gc_delay_ms(self) -> int:
        return int(self.config.gc_delay_s * 1000)
