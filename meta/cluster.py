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
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass

from flyfs.errors import Code, FlyfsError
from flyfs.net import ConnectionPool, identity
from flyfs.proto import common_pb2, meta_pb2, mgmtd_pb2
from flyfs.routing import MgmtdClient, Routing, RoutingTables, RoutingWatcher
from flyfs.storage_client import StorageClient

from .config import MetaConfig
from .data_plane import DataPlaneChains
from .file_chunks import FileChunks
from .space import statfs

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 1.0


class Heartbeater:
    """Keeps this server's registration alive; the one periodic duty toward mgmtd."""

    def __init__(self, mgmtd: MgmtdClient, request: mgmtd_pb2.RegisterNodeRequest):
        self.mgmtd, self.request = mgmtd, request
        self.registered = mgmtd_pb2.RegisterNodeResponse()
        self.applied_version = 0

    @property
    def interval_s(self) -> float:
        return self.registered.heartbeat_interval_ms / 1000 or DEFAULT_HEARTBEAT_S

    async def register(self) -> mgmtd_pb2.RegisterNodeResponse:
        self.registered = await self.mgmtd.register(self.request)
        self.request.node_id = self.registered.node_id  # the same node id when registering again
        log.info(
            "registered with mgmtd %s as node %d, incarnation %d",
            self.mgmtd.address,
            self.registered.node_id,
            self.registered.incarnation,
        )
        return self.registered

    def applied(self, routing: Routing) -> None:
        """The routing watcher's callback: heartbeats report the version meta routes by."""
        self.applied_version = routing.version

    async def beat(self) -> None:
        request = mgmtd_pb2.HeartbeatRequest(
            node_id=self.registered.node_id,
            incarnation=self.registered.incarnation,
            sent_monotonic_ns=time.monotonic_ns(),
            applied_routing_version=self.applied_version,
        )
        try:
            await self.mgmtd.heartbeat(request)
        except FlyfsError as exc:
            if exc.code is not Code.UNKNOWN_NODE:
                raise
            log.warning("mgmtd no longer knows this incarnation; registering again")
            await self.register()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.beat()
            except OSError as exc:  # mgmtd away: keep trying, routing keeps its last version
                log.warning("heartbeat to mgmtd failed: %s", exc)


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
        self.heartbeats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.heartbeats
        await self.watcher.close()
        await self.pool.close()
        await self.mgmtd.close()
