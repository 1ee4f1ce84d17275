"""The node's standing with mgmtd: registration, heartbeats, routing, and the fence.

Fencing (DESIGN.md): the node serves only while the newest heartbeat mgmtd
acknowledged was *sent* (this node's monotonic clock) less than the lease
minus a margin ago, and only once it has applied routing at or above the
version that acknowledgement carried.  mgmtd waits the lease plus a margin
before it moves a silent node's targets, so by then this node has stopped
serving on its own: a stalled or partitioned node never acts on stale
routing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import common_pb2, mgmtd_pb2
from flyfs.routing import MgmtdClient, Routing, RoutingWatcher

from .config import StorageConfig
from .targets import Targets

log = logging.getLogger("flyfs.storage")

# The fence closes this share of the lease early, at least 1 s.
FENCE_MARGIN_SHARE = 0.2
REGISTER_TIMEOUT_S = 60.0


class Membership:
    def __init__(self, config: StorageConfig, targets: Targets) -> None:
        self.config = config
        self.targets = targets
        self.data_address = ""
        self.client = MgmtdClient(config.mgmtd, config.cluster_id)
        self.watcher = RoutingWatcher(self.client)
        self.incarnation = 0
        self._interval_s = 1.0
        self._lease_ns = 0
        self._margin_ns = 0
        self._acked_sent_ns = 0  # send time of the newest acknowledged heartbeat
        self._required_version = 0  # routing the newest acknowledgement asks us to apply
        self._task: asyncio.Task[None] | None = None

    @property
    def routing(self) -> Routing:
        return self.watcher.current

    async def start(self, data_address: str) -> None:
        """Register (retrying while mgmtd comes up), apply routing, start heartbeating."""
        self.data_address = data_address
        sent = time.monotonic_ns()
        answer = await self._register()
        self._interval_s = max(answer.heartbeat_interval_ms / 1000, 0.05)
        self._lease_ns = answer.lease_ms * 1_000_000
        self._margin_ns = max(int(self._lease_ns * FENCE_MARGIN_SHARE), 1_000_000_000)
        self._acked_sent_ns = sent
        self._required_version = answer.routing.routing_version
        await self.watcher.start()
        await self.watcher.refresh(self._required_version)
        self._task = asyncio.create_task(self._heartbeats(), name="flyfs-heartbeat")

    def check_fence(self) -> None:
        """Raise FENCED unless this node may serve now (see the module docstring)."""
        age = time.monotonic_ns() - self._acked_sent_ns
        if age > self._lease_ns - self._margin_ns:
            raise error(
                Code.FENCED,
                f"no heartbeat acknowledged for {age / 1e9:.1f} s (lease {self._lease_ns / 1e9} s)",
            )
        if self.watcher.current.version < self._required_version:
            raise error(
                Code.FENCED,
                f"routing v{self.watcher.current.version} is older than the "
                f"acknowledged v{self._required_version}",
            )

    async def _register(self) -> mgmtd_pb2.RegisterNodeResponse:
        request = mgmtd_pb2.RegisterNodeRequest(
            cluster_id=self.config.cluster_id,
            type=common_pb2.NODE_TYPE_STORAGE,
            node_id=self.config.node_id,
            name=f"storage-{self.config.node_id}",
            hostname=socket.gethostname(),
            pid=os.getpid(),
            data_address=self.data_address,
            targets=self._reports(),
        )
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while True:  # bounded by the deadline
            try:
                answer = await self.client.register(request)
                break
            except FlyfsError as exc:
                if not exc.retryable or time.monotonic() > deadline:
                    raise
                log.info("mgmtd at %s not answering yet: %s", self.config.mgmtd, exc)
                await asyncio.sleep(0.5)
        self.incarnation = answer.incarnation
        log.info(
            "registered with mgmtd %s as node %d, incarnation %d",
            self.config.mgmtd,
            answer.node_id,
            answer.incarnation,
        )
        return answer

    def _reports(self) -> list[mgmtd_pb2.TargetReport]:
        reports = []
        for target in self.targets:
            space = target.store.space()
            reports.append(
                mgmtd_pb2.TargetReport(
                    target_id=target.target_id,
                    path=target.path,
                    local_state=mgmtd_pb2.LOCAL_TARGET_STATE_UPTODATE,
                    capacity_bytes=space.total_bytes,
                    used_bytes=space.used_bytes,
                    chunk_count=space.chunks,
                )
            )
        return reports

    async def _heartbeats(self) -> None:
        while True:  # until close() cancels it; one beat per interval
            await asyncio.sleep(self._interval_s)
            try:
                await self._beat()
            except FlyfsError as exc:
                if exc.code == Code.UNKNOWN_NODE:
                    log.warning(
                        "mgmtd no longer knows incarnation %d: registering again", self.incarnation
                    )
                    await self._register()
                else:
                    log.warning("heartbeat failed: %s", exc)

    async def _beat(self) -> None:
        sent = time.monotonic_ns()
        reports = await asyncio.to_thread(self._reports)  # statvfs per target
        answer = await self.client.heartbeat(
            mgmtd_pb2.HeartbeatRequest(
                cluster_id=self.config.cluster_id,
                node_id=self.config.node_id,
                incarnation=self.incarnation,
                sent_monotonic_ns=sent,
                applied_routing_version=self.watcher.current.version,
                targets=reports,
            )
        )
        self._acked_sent_ns = max(self._acked_sent_ns, answer.sent_monotonic_ns)
        self._required_version = max(self._required_version, answer.routing_version)
        if answer.lease_ms:
            self._lease_ns = answer.lease_ms * 1_000_000
        if self.watcher.current.version < self._required_version:
            await self.watcher.refresh(self._required_version)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.watcher.close()
        await self.client.close()
