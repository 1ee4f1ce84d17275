"""meta in a cluster: registered with mgmtd, routed by it, talking to storage.

A meta server with `mgmtd` set registers as a META node (so routing lists
its gRPC address for clients), heartbeats at the interval mgmtd answers,
registers again when mgmtd no longer knows its incarnation (mgmtd lost it,
or this process was declared dead), and keeps the newest routing: chain
tables for new files, chain heads and tails for storage requests, target
space for statfs.  Without `mgmtd` none of this exists and the server runs
standalone on its configured chain table.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

from flyfs.heartbeats import Heartbeater
from flyfs.net import ConnectionPool, identity
from flyfs.proto import common_pb2, meta_pb2, mgmtd_pb2
from flyfs.routing import MgmtdClient, RoutingTables, RoutingWatcher
from flyfs.storage_client import StorageClient
from flyfs.tasks import cancel_and_wait

from .config import MetaConfig
from .data_plane import DataPlaneChains
from .file_chunks import FileChunks
from .space import statfs

log = logging.getLogger(__name__)


@dataclass
class ClusterLink:
    mgmtd: MgmtdClient
    watcher: RoutingWatcher
    heartbeater: Heartbeater
    pool: ConnectionPool
    heartbeats: asyncio.Task[None]

    @classmethod
    async def join(cls, config: MetaConfig, grpc_address: str) -> ClusterLink:
        """Register, fetch routing, start heartbeats; on the loop that will serve."""
        mgmtd = MgmtdClient(config.mgmtd, config.cluster_id)
        heartbeater = Heartbeater(
            mgmtd,
            mgmtd_pb2.RegisterNodeRequest(
                type=common_pb2.NODE_TYPE_META,
                node_id=config.node_id,
                name=config.name,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                grpc_address=grpc_address,
            ),
        )
        registered = await heartbeater.register()
        watcher = RoutingWatcher(mgmtd, config.routing_poll_s, on_change=heartbeater.applied)
        await watcher.start()
        pool = ConnectionPool(
            identity(
                config.cluster_id,
                registered.node_id,
                common_pb2.NODE_TYPE_META,
                incarnation=registered.incarnation,
                name=config.name,
            )
        )
        task = asyncio.create_task(heartbeater.run(), name="flyfs-meta-heartbeat")
        return cls(mgmtd, watcher, heartbeater, pool, task)

    def tables(self) -> RoutingTables:
        return RoutingTables(lambda: self.watcher.current)

    def chunks(self) -> FileChunks:
        storage = DataPlaneChains(StorageClient(self.pool), self.watcher)
        return FileChunks(self.tables(), storage)

    def statfs(self) -> meta_pb2.StatfsResponse:
        return statfs(self.watcher.current.info)

    async def refresh_routing(self) -> None:
        await self.watcher.refresh()

    async def close(self) -> None:
        await cancel_and_wait(self.heartbeats)
        await self.watcher.close()
        await self.pool.close()
        await self.mgmtd.close()
