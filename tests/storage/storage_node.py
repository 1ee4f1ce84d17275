"""Start a real storage node as a process and talk to it as the client does."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import uvloop

from flyfs.config import dump_config
from flyfs.net import ConnectionPool, identity
from flyfs.process import ServerProcess, spawn_server, stop_process, wait_ready_file
from flyfs.proto import common_pb2
from flyfs.storage.config import StorageConfig
from flyfs.storage_client import StorageClient

CLUSTER = "storage-test"
T = TypeVar("T")


@dataclass
class StorageNode:
    proc: ServerProcess
    port: int
    start_time: int
    dir: Path
    config: StorageConfig

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def stop(self) -> None:
        stop_process(self.proc.pid, self.start_time, timeout_s=10)
        self.proc.wait(timeout=10)
        self.proc.close_parent_pipe()


def start_node(directory: Path, chains: int = 2, **overrides) -> StorageNode:
    directory.mkdir(parents=True, exist_ok=True)
    config = StorageConfig(
        cluster_id=CLUSTER,
        ready_file=str(directory / "storage.ready"),
        log_file=str(directory / "storage.log"),
        targets=[str(directory / f"target-{i}") for i in range(1, chains + 1)],
        target_ids=list(range(1, chains + 1)),
        chain_ids=list(range(1, chains + 1)),
        **overrides,
    )
    path = directory / "storage.toml"
    path.write_text(dump_config(config))
    Path(config.ready_file).unlink(missing_ok=True)
    proc = spawn_server(
        [sys.executable, "-m", "flyfs.storage", "--config", str(path)],
        log_path=directory / "storage.stdout",
    )
    ready = wait_ready_file(config.ready_file, 30, proc)
    return StorageNode(proc, ready["ports"]["data"], ready["start_time"], directory, config)


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
