"""Start a real storage node as a process and talk to it as the client does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import uvloop

from flyfs.launch import Launched, launch_service
from flyfs.net import ConnectionPool, identity
from flyfs.proto import common_pb2
from flyfs.storage.config import StorageConfig
from flyfs.storage_client import StorageClient

CLUSTER = "storage-test"
T = TypeVar("T")


class StorageNode(Launched):
    config: StorageConfig

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port("data"))


def start_node(directory: Path, chains: int = 2, **overrides) -> StorageNode:
    config = StorageConfig(
        cluster_id=CLUSTER,
        targets=[str(directory / f"target-{i}") for i in range(1, chains + 1)],
        target_ids=list(range(1, chains + 1)),
        chain_ids=list(range(1, chains + 1)),
        **overrides,
    )
    launched = launch_service("storage", config, directory, "storage")
    node = StorageNode(launched.proc, launched.ready, launched.dir)
    node.config = config
    return node


def chain(chain_id: int) -> common_pb2.VersionedChainId:
    return common_pb2.VersionedChainId(chain_id=chain_id, chain_version=1)


def run_client(
    body: Callable[[StorageClient], Awaitable[T]], cluster: str = CLUSTER, timeout_s: float = 60
) -> T:
    """Run `body(client)` on uvloop with a fresh pool; bounded to `timeout_s`."""

    async def main() -> T:
        pool = ConnectionPool(identity(cluster))
        try:
            return await asyncio.wait_for(body(StorageClient(pool)), timeout_s)
        finally:
            await pool.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())
