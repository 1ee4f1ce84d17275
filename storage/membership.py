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
import os
import socket
import time

from flyfs.chains import ONLINE, UPTODATE
from flyfs.errors import Code, FlyfsError, error
from flyfs.heartbeats import Heartbeater, fence_margin_s
from flyfs.proto import common_pb2, mgmtd_pb2
from flyfs.routing import MgmtdClient, Routing, RoutingWatcher
from flyfs.tasks import cancel_and_wait

from .config import StorageConfig
from .targets import Target, Targets


class Membership:
    def __init__(self, config: StorageConfig, targets: Targets) -> None:
        self.config = config
        self.targets = targets
        self.client = MgmtdClient(config.mgmtd, config.cluster_id)
        self.heartbeater = Heartbeater(
            self.client,
            mgmtd_pb2.RegisterNodeRequest(
                cluster_id=config.cluster_id,
                type=common_pb2.NODE_TYPE_STORAGE,
                node_id=config.node_id,
                name=f"storage-{config.node_id}",
                hostname=socket.gethostname(),
                pid=os.getpid(),
            ),
            reports=self._reports,
            acknowledged=self._acknowledged,
        )
        self.watcher = RoutingWatcher(self.client, on_change=self.heartbeater.applied)
        self._lease_ns = 0
        self._margin_ns = 0
        self._acked_sent_ns = 0  # send time of the newest acknowledged heartbeat
        self._required_version = 0  # routing the newest acknowledgement asks us to apply
        self._task: asyncio.Task[None] | None = None

    @property
    def routing(self) -> Routing:
        return self.watcher.current

    async def start(self, data_address: str) -> None:
        """Register, apply routing, start heartbeating."""
        self.heartbeater.request.data_address = data_address
        sent = time.monotonic_ns()
        answer = await self.heartbeater.register()
        self._set_lease(answer.lease_ms)
        self._acked_sent_ns = sent  # a registration is acknowledged too
        self._required_version = answer.routing.routing_version
        await self.watcher.start()
        await self.watcher.refresh(self._required_version)
        self._task = asyncio.create_task(self.heartbeater.run(), name="flyfs-heartbeat")

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

    def _set_lease(self, lease_ms: int) -> None:
        self._lease_ns = lease_ms * 1_000_000
        self._margin_ns = int(fence_margin_s(lease_ms / 1000) * 1e9)

    def _reports(self) -> list[mgmtd_pb2.TargetReport]:
        reports = []
        for target in self.targets:
            space = target.store.space()
            local_state, chain_version = self._local_state(target)
            report = mgmtd_pb2.TargetReport(
                target_id=target.target_id,
                path=target.path,
                local_state=local_state,
                chain_version=chain_version,
                capacity_bytes=space.total_bytes,
                used_bytes=space.used_bytes,
                chunk_count=space.chunks,
                repaired_chunks=target.repaired_chunks,
            )
            if target.sync is not None:
                report.sync.CopyFrom(target.sync)
            reports.append(report)
        return reports

    def _local_state(self, target: Target) -> tuple[int, int]:
        """`(local state, the chain version it was judged under)`.

        UPTODATE while the target serves (or is the last to have served),
        and while SYNCING once its resync finished under the chain's current
        version; ONLINE otherwise, a restarted process included, which may
        have missed writes.  mgmtd only believes UPTODATE for the chain
        version it names.
        """
        try:
            routing = self.watcher.current
            info = routing.target(target.target_id)
            chain_version = routing.chain(info.chain_id).chain_version if info.chain_id else 0
        except FlyfsError:
            return ONLINE, 0  # not in routing yet: registering
        state = info.public_state
        if (
            state in (common_pb2.TARGET_STATE_SERVING, common_pb2.TARGET_STATE_LASTSRV)
            or not info.chain_id
            or (
                state == common_pb2.TARGET_STATE_SYNCING
                and target.synced_chain_version == chain_version
            )
        ):
            return UPTODATE, chain_version
        return ONLINE, chain_version

    async def _acknowledged(self, answer: mgmtd_pb2.HeartbeatResponse) -> None:
        self._acked_sent_ns = max(self._acked_sent_ns, answer.sent_monotonic_ns)
        self._required_version = max(self._required_version, answer.routing_version)
        if answer.lease_ms:
            self._set_lease(answer.lease_ms)
        if self.watcher.current.version < self._required_version:
            await self.watcher.refresh(self._required_version)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        await self.watcher.close()
        await self.client.close()
