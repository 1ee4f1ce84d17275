"""A server's registration with mgmtd, kept alive by heartbeats: meta and storage alike.

Registers (mgmtd answers the heartbeat interval and lease), heartbeats at
that interval with the routing version the server has applied, and
registers again when mgmtd no longer knows the incarnation.  A storage node
adds its target reports to every beat and reads each acknowledgement for
its fence (`flyfs.storage.membership`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import mgmtd_pb2
from flyfs.routing import MgmtdClient, Routing

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 1.0
# A storage node stops serving this share of the lease (at least 1 s) before its lease
# runs out on its own clock (DESIGN.md, "Fencing").
FENCE_MARGIN_SHARE = 0.2
MIN_FENCE_MARGIN_S = 1.0

Reports = Callable[[], Sequence[mgmtd_pb2.TargetReport]]
Acknowledged = Callable[[mgmtd_pb2.HeartbeatResponse], Awaitable[None]]


def fence_margin_s(lease_s: float) -> float:
    return max(lease_s * FENCE_MARGIN_SHARE, MIN_FENCE_MARGIN_S)


def check_lease(lease_s: float, heartbeat_interval_s: float) -> None:
    """Refuse timing under which a node would fence itself between two heartbeats: the
    lease minus the fence margin must span at least two heartbeat intervals."""
    room = lease_s - fence_margin_s(lease_s)
    if heartbeat_interval_s <= 0 or room < 2 * heartbeat_interval_s:
        raise error(
            Code.INVALID_ARGUMENT,
            f"lease_s {lease_s:g} leaves {room:g} s before a node fences itself; at least"
            f" two heartbeat intervals ({2 * heartbeat_interval_s:g} s) are needed",
        )


class Heartbeater:
    def __init__(
        self,
        mgmtd: MgmtdClient,
        request: mgmtd_pb2.RegisterNodeRequest,
        *,
        reports: Reports | None = None,
        acknowledged: Acknowledged | None = None,
    ) -> None:
        self.mgmtd, self.request = mgmtd, request
        self.registered = mgmtd_pb2.RegisterNodeResponse()
        self.applied_version = 0
        self._reports = reports  # target reports, made on a thread (statvfs per target)
        self._acknowledged = acknowledged

    @property
    def interval_s(self) -> float:
        return self.registered.heartbeat_interval_ms / 1000 or DEFAULT_HEARTBEAT_S

    async def register(self) -> mgmtd_pb2.RegisterNodeResponse:
        if self._reports is not None:
            del self.request.targets[:]
            self.request.targets.extend(await asyncio.to_thread(self._reports))
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
        """The routing watcher's callback: heartbeats report the version the server routes by."""
        self.applied_version = routing.version

    async def beat(self) -> None:
        request = mgmtd_pb2.HeartbeatRequest(
            node_id=self.registered.node_id,
            incarnation=self.registered.incarnation,
            sent_monotonic_ns=time.monotonic_ns(),
            applied_routing_version=self.applied_version,
        )
        if self._reports is not None:
            request.targets.extend(await asyncio.to_thread(self._reports))
        try:
            answer = await self.mgmtd.heartbeat(request)
        except FlyfsError as exc:
            if exc.code is not Code.UNKNOWN_NODE:
                raise
            log.warning("mgmtd no longer knows this incarnation; registering again")
            await self.register()
            return
        if self._acknowledged is not None:
            await self._acknowledged(answer)

    async def run(self) -> None:
        while True:  # until cancelled; one beat per interval
            await asyncio.sleep(self.interval_s)
            try:
                await self.beat()
            except OSError as exc:  # mgmtd away: keep trying, routing keeps its last version
                log.warning("heartbeat to mgmtd failed: %s", exc)
