"""The node's targets: one chunk store per target directory, by target id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flyfs.errors import Code, error
from flyfs.proto import mgmtd_pb2

from .chunk_store import ChunkStore
from .config import StorageConfig


@dataclass
class Target:
    target_id: int
    path: str
    store: ChunkStore
    # The chain version under which a resync into this target finished (SyncDone):
    # it reports UPTODATE while SYNCING at exactly that version.
    synced_chain_version: int = 0
    # Set while this target pushes a resync to its SYNCING successor.
    sync: mgmtd_pb2.SyncProgress | None = None
    repaired_chunks: int = 0


class Targets:
    def __init__(self, config: StorageConfig):
        if not config.targets or len(config.targets) != len(config.target_ids):
            raise error(
                Code.INVALID_ARGUMENT,
                "storage config needs targets and target_ids of one non-zero length",
            )
        if len(set(config.target_ids)) != len(config.target_ids) or 0 in config.target_ids:
            raise error(Code.INVALID_ARGUMENT, "target_ids must be distinct and non-zero")
        self.by_id = {
            tid: Target(tid, path, ChunkStore(path, fsync=config.fsync))
            for path, tid in zip(config.targets, config.target_ids, strict=True)
        }

    def __iter__(self) -> Iterator[Target]:
        return iter(self.by_id.values())
