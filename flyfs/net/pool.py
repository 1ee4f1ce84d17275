"""A small bounded set of connections per server address, shared by all callers.

Lazily connected, at most `max_per_address` connections per address; a
request goes to the least-loaded open connection, and a new connection is
opened only while every open one is busy and the bound allows. A dead
connection is dropped and replaced on the next call. One time budget covers
a whole call (waiting for a slot, connecting, handshake, request). The pool
does not retry: whether a request may be resent is the caller's decision
(CONNECTION_LOST and TIMEOUT are retryable codes, a write needs its tag).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from flyfs import errors
from flyfs.errors import Code
from flyfs.frame import DEFAULT_LIMITS, FrameLimits
from flyfs.net.buffers import Buffer
from flyfs.net.client import Connection, Payload, Response, Scatter
from flyfs.proto import common_pb2, data_pb2

Address = tuple[str, int]


@dataclass(eq=False)
class _Slots:
    conns: list[Connection] = field(default_factory=list)
    connecting: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class ConnectionPool:
    def __init__(
        self,
        local: common_pb2.Handshake,
        *,
        max_per_address: int = 4,
        limits: FrameLimits = DEFAULT_LIMITS,
        timeout_s: float = 30.0,
    ) -> None:
        if max_per_address < 1:
            raise ValueError("max_per_address must be >= 1")
        self.local = local
        self.max_per_address = max_per_address
        self.limits = limits
        self.timeout_s = timeout_s
        self._slots: dict[Address, _Slots] = {}
        self._closed = False

    async def request(
        self,
        address: Address,
        header: data_pb2.RequestHeader,
        payload: Payload | None = None,
        *,
        into: Buffer | memoryview | Scatter | None = None,
        timeout_s: float | None = None,
    ) -> Response:
        """Connection.request on a pooled connection to `address`, all within one budget."""
        budget = self.timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        conn = await self.connection(address, timeout_s=budget)
        left = max(0.001, deadline - loop.time())
        return await conn.request(header, payload, into=into, timeout_s=left)

    async def connection(self, address: Address, *, timeout_s: float | None = None) -> Connection:
        """The least-loaded open connection to `address`, opening one if all are busy."""
        if self._closed:
            raise errors.error(Code.UNAVAILABLE, "connection pool is closed")
        budget = self.timeout_s if timeout_s is None else timeout_s
        slots = self._slots.setdefault(address, _Slots())
        try:
            async with asyncio.timeout(budget):
                return await self._acquire(address, slots, budget)
        except TimeoutError as exc:
            raise errors.error(Code.TIMEOUT, f"no connection to {address[0]}:{address[1]}") from exc

    async def _acquire(self, address: Address, slots: _Slots, budget: float) -> Connection:
        while True:  # bounded by the caller's timeout; each turn waits for a change
            slots.conns = [c for c in slots.conns if c.is_open]
            best = min(slots.conns, key=lambda c: c.inflight, default=None)
            room = len(slots.conns) + slots.connecting < self.max_per_address
            if best is not None and (best.inflight == 0 or not room):
                return best
            if room:
                return await self._open(address, slots, budget)
            async with slots.changed:
                await slots.changed.wait()

    async def _open(self, address: Address, slots: _Slots, budget: float) -> Connection:
        slots.connecting += 1
        try:
            conn = await Connection.open(
                address[0], address[1], self.local, limits=self.limits, timeout_s=budget
            )
            if self._closed:
                conn.close()
                raise errors.error(Code.UNAVAILABLE, "connection pool is closed")
            slots.conns.append(conn)
            return conn
        finally:
            slots.connecting -= 1
            async with slots.changed:
                slots.changed.notify_all()

    def connection_count(self, address: Address) -> int:
        slots = self._slots.get(address)
        return 0 if slots is None else sum(c.is_open for c in slots.conns)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Close every connection; pending requests fail with CONNECTION_LOST."""
        self._closed = True
        conns = [c for s in self._slots.values() for c in s.conns]
        self._slots.clear()
        for conn in conns:
            conn.close()
        await asyncio.gather(*(c.wait_closed(timeout_s) for c in conns))
