"""Write-session leases: renewed in the background while files are open for writing.

meta prunes a session at its lease plus a margin; this client stops using
one once its last *confirmed* renewal is older than the lease minus a margin
(20 %, at least 1 s, as storage fences itself), so a writer that stalled
never writes beside whoever comes next (DESIGN.md).  One `RenewSessions`
call renews every session of this client, every quarter lease; a session
meta reports lost, or one whose renewals lapsed, fails its file with EIO.
The renewal time recorded is when the request was *sent*, never later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import meta_pb2
from flyfs.tasks import cancel_and_wait

from .control import ControlPlane

log = logging.getLogger(__name__)

MARGIN_FRACTION = 0.2
MIN_MARGIN_S = 1.0


@dataclass
class _Lease:
    path: str
    lease_s: float
    renewed_at: float  # time.monotonic() when the last confirmed renewal was sent
    lost: bool = False

    def usable_until(self) -> float:
        margin = max(self.lease_s * MARGIN_FRACTION, MIN_MARGIN_S)
        return self.renewed_at + self.lease_s - margin


class Leases:
    def __init__(self, control: ControlPlane) -> None:
        self._control = control
        self._leases: dict[int, _Lease] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, session_id: int, path: str, lease_ms: int, opened_at: float) -> None:
        """Track a session opened by a request sent at `opened_at`; call on the client's loop."""
        self._leases[session_id] = _Lease(path, lease_ms / 1000, opened_at)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._renew_while_open(), name="flyfs-renew-sessions"
            )

    def remove(self, session_id: int) -> None:
        self._leases.pop(session_id, None)

    def check(self, session_id: int) -> None:
        """EIO (SESSION_EXPIRED) once the session can no longer be trusted to be ours."""
        lease = self._leases.get(session_id)
        if lease is None:
            return
        if lease.lost:
            raise error(Code.SESSION_EXPIRED, "meta pruned the write session", lease.path)
        if time.monotonic() > lease.usable_until():
            raise error(
                Code.SESSION_EXPIRED,
                f"the write session was not renewed within its {lease.lease_s:g} s lease",
                lease.path,
            )

    async def _renew_while_open(self) -> None:
        while self._leases:
            lease_s = min(lease.lease_s for lease in self._leases.values())
            await asyncio.sleep(lease_s / 4)
            ids = sorted(self._leases)
            if not ids:
                return
            sent = time.monotonic()
            try:
                response = await self._control.meta(
                    "RenewSessions",
                    meta_pb2.RenewSessionsRequest(session_ids=ids),
                    window_s=lease_s / 4,
                )
            except FlyfsError as exc:
                log.warning("renewing %d write sessions failed: %s", len(ids), exc)
                continue
            lost = set(response.lost_session_ids)
            for session_id in ids:
                lease = self._leases.get(session_id)
                if lease is None:
                    continue
                if session_id in lost:
                    lease.lost = True
                else:
                    lease.renewed_at = sent
                    lease.lease_s = response.session_lease_ms / 1000 or lease.lease_s

    def forget(self) -> None:
        """In a forked child: the sessions are the parent's, and so is the task's loop."""
        self._leases = {}
        self._task = None

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
