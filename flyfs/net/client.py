"""One data-plane TCP connection as a caller sees it: handshake, then pipelined requests.

Requests are tagged with a per-connection request id and pipelined: many
tasks may await requests on one connection and responses come back in any
order. A request's header and payload are written back to back with no
await between them, so frames from concurrent tasks never interleave.

Copy counts: sending, 0 in Python (the header is encoded once, the payload
object is handed to the transport as is, which copies only what the socket
did not take at once). Receiving with `into=`, the payload lands in the
caller's buffer: 0 copies, except for the bytes that shared a read with the
header (<= 64 KiB, copied once; see flyfs.net.protocol). Without `into=`,
the same into one new bytearray per response, owned by the caller.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flyfs import errors
from flyfs.errors import Code
from flyfs.frame import DEFAULT_LIMITS, FrameHead, FrameKind, FrameLimits, encode
from flyfs.net import handshake
from flyfs.net.buffers import Buffer
from flyfs.net.protocol import FrameProtocol
from flyfs.proto import common_pb2, data_pb2

Payload = bytes | bytearray | memoryview
# The payload view, or with a Scatter `into` the buffers it filled.
Response = tuple[data_pb2.ResponseHeader, Any]
Scatter = Callable[[data_pb2.ResponseHeader], list[memoryview]]
"""Given a response's header, the buffers its payload fills in order."""

# Responses that may still arrive for requests whose caller gave up; past
# this many the connection is closed rather than remember more.
MAX_ABANDONED = 1024
_EMPTY = memoryview(b"")


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future[Response]
    into: memoryview | Scatter | None
    receiving: bool = field(default=False)  # its payload is landing in `into`


class _ClientProtocol(FrameProtocol):
    def __init__(self, limits: FrameLimits) -> None:
        super().__init__(FrameKind.RESPONSE, limits)
        self.pending: dict[int, _Pending] = {}
        self.abandoned: set[int] = set()

    def frame_started(self, head: FrameHead) -> memoryview | None:
        rid = head.header.request_id
        size = head.prefix.payload_len
        pending = self._lookup(rid)
        if pending is None:
            return None  # a late answer to an abandoned request: discard its payload
        if pending.into is None:
            pending.receiving = True
            return memoryview(bytearray(size))
        if callable(pending.into):
            try:
                segments = pending.into(head.header)
            except errors.FlyfsError as exc:
                return self._refuse(rid, pending, exc)
            if sum(s.nbytes for s in segments) != size:
                return self._refuse(
                    rid,
                    pending,
                    errors.error(
                        Code.INTERNAL, f"response payload of {size} bytes fits no scatter list"
                    ),
                )
            pending.receiving = True
            return segments
        if pending.into.nbytes < size:
            return self._refuse(
                rid,
                pending,
                errors.error(
                    Code.INVALID_ARGUMENT,
                    f"response payload of {size} bytes does not fit the "
                    f"{pending.into.nbytes}-byte into= buffer",
                ),
            )
        pending.receiving = True
        return pending.into[:size]

    def _refuse(self, rid: int, pending: _Pending, exc: errors.FlyfsError) -> None:
        """Fail a request whose payload has nowhere to go; the payload is discarded."""
        del self.pending[rid]
        self.abandoned.add(rid)  # so frame_complete ignores it
        _settle(pending, exc=exc)

    def frame_complete(self, head: FrameHead, payload: memoryview | None) -> None:
        rid = head.header.request_id
        if rid in self.abandoned:
            self.abandoned.discard(rid)
            return
        pending = self._lookup(rid)
        if pending is None:
            return
        del self.pending[rid]
        if payload is None:
            if callable(pending.into):
                payload = []
            else:
                payload = _EMPTY if pending.into is None else pending.into[:0]
        _settle(pending, result=(head.header, payload))

    def lost(self, exc: errors.FlyfsError) -> None:
        pending, self.pending = self.pending, {}
        for item in pending.values():
            _settle(item, exc=errors.error(Code.CONNECTION_LOST, exc.message))

    def _lookup(self, rid: int) -> _Pending | None:
        pending = self.pending.get(rid)
        if pending is None and rid not in self.abandoned:
            raise errors.error(Code.FRAME_BAD_HEADER, f"response to unknown request id {rid}")
        return pending


def _settle(
    pending: _Pending, result: Response | None = None, exc: BaseException | None = None
) -> None:
    if pending.future.done():
        return
    if exc is not None:
        pending.future.set_exception(exc)
    else:
        assert result is not None
        pending.future.set_result(result)


class Connection:
    """A handshaken connection to one data-plane server. Make it with :meth:`open`."""

    def __init__(self, transport: asyncio.Transport, protocol: _ClientProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._ids = itertools.count(1)
        self.peer: common_pb2.Handshake = common_pb2.Handshake()

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        local: common_pb2.Handshake,
        *,
        limits: FrameLimits = DEFAULT_LIMITS,
        timeout_s: float = 10.0,
    ) -> Connection:
        """Connect, send `local` as hello and check the server's answer, within `timeout_s`.

        Raises UNAVAILABLE (cannot connect), TIMEOUT, CLUSTER_MISMATCH or the
        refusal the server answered with.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                transport, protocol = await loop.create_connection(
                    lambda: _ClientProtocol(limits), host, port
                )
        except TimeoutError as exc:
            raise errors.error(Code.TIMEOUT, f"connecting to {host}:{port}") from exc
        except OSError as exc:
            raise errors.error(Code.UNAVAILABLE, f"cannot connect to {host}:{port}: {exc}") from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = cls(transport, protocol)
        try:
            answer, _ = await conn.request(
                data_pb2.RequestHeader(hello=local), timeout_s=max(0.0, deadline - loop.time())
            )
            refusal = handshake.status_error(answer.status)
            if refusal is not None:
                raise refusal
            if answer.WhichOneof("body") != "hello":
                raise errors.error(Code.HANDSHAKE_REFUSED, "the server's answer has no hello")
            handshake.check_peer(local.cluster_id, answer.hello)
        except BaseException:
            transport.abort()
            raise
        conn.peer = answer.hello
        return conn

    @property
    def is_open(self) -> bool:
        return not self._protocol.is_closed

    @property
    def inflight(self) -> int:
        """Requests sent and not yet answered: the pool's load measure."""
        return len(self._protocol.pending)

    async def request(
        self,
        header: data_pb2.RequestHeader,
        payload: Payload | None = None,
        *,
        into: Buffer | memoryview | Scatter | None = None,
        timeout_s: float | None = None,
    ) -> Response:
        """Send one request and await its response header and payload view.

        Sets `header.request_id` (and `timeout_ms` when `timeout_s` is given).
        With `into`, the response payload is received straight into it and the
        view returned is `into[:payload_len]`; `into` may also be a function of
        the response header returning buffers the payload fills in order (their
        sizes must add up to it), which are then returned. The whole-request status is not
        raised here (see handshake.raise_for_status): batches carry statuses
        per item. On timeout or cancellation the request is abandoned; if its
        payload was already landing in `into`, the connection is closed so that
        no byte is written there after this returns.
        """
        proto = self._protocol
        if proto.close_reason is not None:
            raise errors.error(Code.CONNECTION_LOST, proto.close_reason.message)
        body = _byte_view(payload)
        dest = into if into is None or callable(into) else _byte_view(into)
        rid = next(self._ids)
        header.request_id = rid
        if timeout_s is not None:
            header.timeout_ms = max(1, int(timeout_s * 1000))
        frame = encode(header, body.nbytes, proto.limits)
        pending = _Pending(asyncio.get_running_loop().create_future(), dest)
        proto.pending[rid] = pending
        self._transport.write(frame)
        if body.nbytes:
            self._transport.write(body)
        try:
            async with asyncio.timeout(timeout_s):
                await proto.drain()
                return await pending.future
        except TimeoutError as exc:
            self._abandon(rid)
            raise errors.error(Code.TIMEOUT, f"request {rid} to {proto.peername}") from exc
        except asyncio.CancelledError:
            self._abandon(rid)
            raise
        except errors.FlyfsError:
            proto.pending.pop(rid, None)
            raise

    def _abandon(self, rid: int) -> None:
        proto = self._protocol
        pending = proto.pending.pop(rid, None)
        if pending is None:
            return
        if pending.receiving or len(proto.abandoned) >= MAX_ABANDONED:
            proto.close_with(
                errors.error(Code.CONNECTION_LOST, f"request {rid} abandoned mid-response")
            )
        else:
            proto.abandoned.add(rid)

    def close(self) -> None:
        """Close now; pending requests fail with CONNECTION_LOST."""
        if self._protocol.close_reason is None:
            self._protocol.close_reason = errors.error(Code.CONNECTION_LOST, "closed by caller")
        self._transport.close()

    async def wait_closed(self, timeout_s: float = 5.0) -> None:
        try:
            await asyncio.wait_for(self._protocol.closed.wait(), timeout_s)
        except TimeoutError:
            self._transport.abort()


def _byte_view(data: Payload | None) -> memoryview:
    if data is None:
        return _EMPTY
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")
