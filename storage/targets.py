"""Which local chunk store serves a chain: the node's view of its targets."""

from __future__ import annotations

from dataclasses import dataclass

from flyfs.errors import Code, error
from flyfs.proto import common_pb2

from .chunk_store import ChunkStore
from .config import StorageConfig


@dataclass
class Target:
    target_id: int
    chain_id: int
    store: ChunkStore


class Targets:
    def __init__(self, config: StorageConfig):
        counts = {len(config.targets), len(config.target_ids), len(config.chain_ids)}
        if len(counts) != 1 or not config.targets:
            raise error(
                Code.INVALID_ARGUMENT,
                "storage config needs targets, target_ids and chain_ids of one non-zero length",
            )
        self.by_chain = {
            chain: Target(tid, chain, ChunkStore(path, fsync=config.fsync))
            for path, tid, chain in zip(
                config.targets, config.target_ids, config.chain_ids, strict=True
            )
        }

    def for_chain(self, chain: common_pb2.VersionedChainId) -> Target:
        target = self.by_chain.get(chain.chain_id)
        if target is None:
            raise error(Code.ROUTING_STALE, f"chain {chain.chain_id} has no target on this node")
        return target

    def __iter__(self):
        return iter(self.by_chain.values())
