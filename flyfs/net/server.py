"""`DataServer`: accepts data-plane connections and runs a handler per request.

Per connection: the handshake comes first (anything else, a payload on it,
or a peer from another cluster closes the connection); then each request
(header + payload received into a pooled buffer) goes to the async handler,
and its `Reply` goes out through the connection's one `FrameSender`.

Bounds: at most `max_inflight` requests per connection run at once; past
that the connection stops reading (frames already parsed wait in a backlog
no larger than one read's worth), so a peer cannot make the server hold more
than `max_inflight` payloads of at most `limits.max_payload_bytes` each, plus
one header. Across all connections, the payloads being received, waiting or
being served hold at most `max_receive_bytes` (counted in buffer size
classes, reserved when a frame's prefix announces its payload): a request
whose payload does not fit is not refused with the connection but answered
UNAVAILABLE (retryable), its payload read and dropped through the 64 KiB
scratch buffer. Payload buffers fill lazily (flyfs.net.buffers), so a
payload announced but never sent costs budget, not memory. A peer that does
not finish its handshake in `handshake_timeout_s` is dropped.

Event loops: one loop accepts and hands each connection, in turn, to one of
`loops` event loops (the accepting one and `loops - 1` threads). A
connection lives on one loop for its life, with its sender, its handlers
and its payload buffers, so nothing per connection is shared between
threads; only the receive budget is (under a lock). Python code still runs
one thread at a time, but `sendfile`, `recv` and the kernel's loopback work
release the GIL: measured, one loop saturated one core at ~2 GB/s of
4 MiB reads while raw `sendfile` from 4 threads used both
(bench/data_plane_bench.py). Handlers must therefore be thread-safe
(storage's already were: its I/O threads share the chunk store).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from flyfs import errors
from flyfs.errors import Code
from flyfs.frame import DEFAULT_LIMITS, FrameHead, FrameKind, FrameLimits
from flyfs.net import handshake
from flyfs.net.buffers import Buffer, BufferPool, size_class
from flyfs.net.protocol import FrameProtocol
from flyfs.net.sender import FrameSender, Part, sendfile_enabled
from flyfs.process import bind_listener
from flyfs.proto import common_pb2, data_pb2
from flyfs.tasks import cancel_and_wait

log = logging.getLogger("flyfs.net")


@dataclass
class Reply:
    """What a handler answers: a header and payload parts sent in order.

    Parts are bytes-like objects (not copied; not to be modified until
    `on_sent` ran) or FileRegions (sent by sendfile). The server fills
    `request_id`. `on_sent(error or None)` runs once the frame left or was
    dropped: release locks and close file descriptors there.
    """

    header: data_pb2.ResponseHeader = field(default_factory=data_pb2.ResponseHeader)
    parts: Sequence[Part] = ()
    on_sent: Callable[[BaseException | None], None] | None = None


@dataclass(frozen=True)
class Peer:
    """Who sent a request: the peer's handshake and address."""

    hello: common_pb2.Handshake
    address: str


# header, payload, the buffer holding it, why it is refused unserved (None: serve it)
_Request = tuple[data_pb2.RequestHeader, memoryview, Buffer | None, errors.FlyfsError | None]
Handler = Callable[[Peer, data_pb2.RequestHeader, memoryview], Awaitable[Reply]]


def error_reply(exc: BaseException) -> Reply:
    code = errors.code_of(exc)
    message = exc.message if isinstance(exc, errors.FlyfsError) else str(exc)
    status = common_pb2.Status(code=int(code), message=message)
    return Reply(data_pb2.ResponseHeader(status=status))


class _Loop:
    """One event loop's share of the connections, and what they use without locking."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread | None) -> None:
        self.loop = loop
        self.thread = thread  # None: the loop that accepts, run by the caller
        self.buffers = BufferPool()
        self.connections: set[_ServerProtocol] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def close(self, grace_s: float) -> None:
        for conn in list(self.connections):
            conn.close_with(
                errors.error(Code.CONNECTION_LOST, "server shutting down"), logging.INFO
            )
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace_s)
            for task in pending:
                task.cancel()


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        loop.close()


class _ServerProtocol(FrameProtocol):
    def __init__(self, server: DataServer, home: _Loop) -> None:
        super().__init__(FrameKind.REQUEST, server.limits)
        self._server = server
        self._home = home
        self._sender: FrameSender | None = None
        self._peer: Peer | None = None
        self._inflight = 0
        self._backlog: collections.deque[_Request] = collections.deque()
        self._reading_paused = False
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._buffer: Buffer | None = None  # the pooled buffer of the payload arriving
        self._over_budget: errors.FlyfsError | None = None  # the arriving payload is dropped
        self._budget_logged = False
        self._refused = False  # handshake refused: the answer is going out, then close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._home.connections.add(self)
        self._sender = FrameSender(
            self,
            use_sendfile=self._server.use_sendfile,
            stall_timeout_s=self._server.stall_timeout_s,
        )
        self._handshake_timer = asyncio.get_running_loop().call_later(
            self._server.handshake_timeout_s, self._handshake_expired
        )

    def _handshake_expired(self) -> None:
        if self._peer is None:
            self.close_with(errors.error(Code.HANDSHAKE_REFUSED, "no handshake in time"))

    def frame_started(self, head: FrameHead) -> memoryview | None:
        if self._peer is None:
            raise errors.error(Code.HANDSHAKE_REFUSED, "payload before the handshake")
        size = head.prefix.payload_len
        self._buffer = self._server._reserve(self._home.buffers, size)
        if self._buffer is None:
            self._over_budget = errors.error(
                Code.UNAVAILABLE,
                f"server busy: a {size}-byte payload does not fit its receive budget "
                f"({self._server.receive_bytes} of {self._server.max_receive_bytes} bytes in use)",
            )
            if not self._budget_logged:  # once per connection: a flood must not flood the log
                self._budget_logged = True
                log.warning("refusing requests from %s: %s", self.peername, self._over_budget)
            return None  # dropped as it arrives; the request is answered UNAVAILABLE
        return memoryview(self._buffer)[:size]

    def frame_complete(self, head: FrameHead, payload: memoryview | None) -> None:
        header = head.header
        assert isinstance(header, data_pb2.RequestHeader)
        buffer, self._buffer = self._buffer, None
        refusal, self._over_budget = self._over_budget, None
        if self._refused or self._peer is None or header.WhichOneof("body") == "hello":
            self._server._release(self._home.buffers, buffer)
            if self._refused:
                return  # read before pause_reading took effect; the connection is closing
            if self._peer is None:
                self._handshake(header)
                return
            raise errors.error(Code.FRAME_BAD_HEADER, "a second hello on one connection")
        view = payload if payload is not None else memoryview(b"")
        self._backlog.append((header, view, buffer, refusal))
        self._start_backlog()

    def _handshake(self, header: data_pb2.RequestHeader) -> None:
        assert self._sender is not None
        if header.WhichOneof("body") != "hello":
            raise errors.error(Code.HANDSHAKE_REFUSED, "a request before the handshake")
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        answer = data_pb2.ResponseHeader(request_id=header.request_id)
        try:
            handshake.check_peer(self._server.cluster_id, header.hello)
        except errors.FlyfsError as exc:
            log.warning("refusing data connection %s: %s", self.peername, exc)
            answer.status.code, answer.status.message = int(exc.code), exc.message
            self._refused = True
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
            self._sender.send(answer, close_after=True)
            return
        self._peer = Peer(header.hello, self.peername)
        answer.hello.CopyFrom(self._server.identity)
        self._sender.send(answer)

    def _start_backlog(self) -> None:
        limit = self._server.max_inflight
        while self._backlog and self._inflight < limit:  # bounded by the backlog's length
            header, payload, buffer, refusal = self._backlog.popleft()
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(
                self._serve(header, payload, buffer, refusal)
            )
            self._home.tasks.add(task)
            task.add_done_callback(self._home.tasks.discard)
        want_pause = bool(self._backlog) or self._inflight >= limit
        if want_pause != self._reading_paused and self.transport is not None and not self.is_closed:
            self._reading_paused = want_pause
            if want_pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    async def _serve(
        self,
        header: data_pb2.RequestHeader,
        payload: memoryview,
        buffer: Buffer | None,
        refusal: errors.FlyfsError | None,
    ) -> None:
        assert self._sender is not None
        if refusal is not None:
            reply = error_reply(refusal)
        else:
            reply = await self._handle(header, payload)
        reply.header.request_id = header.request_id

        def sent(failure: BaseException | None) -> None:
            # The payload buffer may back the reply (an echo): release only now.
            self._server._release(self._home.buffers, buffer)
            self._inflight -= 1
            if reply.on_sent is not None:
                reply.on_sent(failure)
            if not self.is_closed:
                self._start_backlog()

        if self.is_closed:
            sent(errors.error(Code.CONNECTION_LOST, "peer gone before the reply"))
            return
        self._sender.send(reply.header, reply.parts, sent)

    async def _handle(self, header: data_pb2.RequestHeader, payload: memoryview) -> Reply:
        assert self._peer is not None
        try:
            if header.timeout_ms:
                async with asyncio.timeout(header.timeout_ms / 1000):
                    return await self._server.handler(self._peer, header, payload)
            return await self._server.handler(self._peer, header, payload)
        except TimeoutError:
            return error_reply(errors.error(Code.TIMEOUT, "the request's timeout_ms elapsed"))
        except Exception as exc:
            if not isinstance(exc, errors.FlyfsError):
                log.exception("data handler failed on %s", header.WhichOneof("body"))
            return error_reply(exc)

    def lost(self, exc: errors.FlyfsError) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        if self._sender is not None:
            self._sender.stop()
        arriving, self._buffer = self._buffer, None
        self._server._release(self._home.buffers, arriving)  # the peer left mid-payload
        for _, _, buffer, _ in self._backlog:
            self._server._release(self._home.buffers, buffer)
        self._backlog.clear()
        self._home.connections.discard(self)


class DataServer:
    """The data-plane listener of one process (storage serves with it; meta could)."""

    def __init__(
        self,
        handler: Handler,
        cluster_id: str,
        node_id: int,
        *,
        node_type: int = common_pb2.NODE_TYPE_STORAGE,
        name: str = "",
        incarnation: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: FrameLimits = DEFAULT_LIMITS,
        max_inflight: int = 64,
        max_receive_bytes: int = 1 << 30,
        handshake_timeout_s: float = 10.0,
        stall_timeout_s: float = 60.0,
        sendfile: bool | None = None,
        loops: int = 1,
    ) -> None:
        if loops < 1:
            raise ValueError(f"loops must be >= 1, not {loops}")
        self.handler = handler
        self.cluster_id = cluster_id
        self.identity = handshake.identity(
            cluster_id, node_id, node_type, incarnation=incarnation, name=name
        )
        self.host, self._port = host, port
        self.limits = limits
        self.max_inflight = max_inflight
        self.max_receive_bytes = max_receive_bytes
        self._receive_bytes = 0
        self._budget_lock = threading.Lock()
        self.handshake_timeout_s = handshake_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.use_sendfile = sendfile_enabled() if sendfile is None else sendfile
        self.loop_count = loops
        self._loops: list[_Loop] = []
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Listen and return the bound port (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self._loops = [_Loop(loop, None)]
        for index in range(1, self.loop_count):
            # The same loop implementation (uvloop or asyncio) as the accepting one.
            worker = type(loop)()
            thread = threading.Thread(
                target=_run_loop, args=(worker,), name=f"data-loop-{index}", daemon=True
            )
            thread.start()
            self._loops.append(_Loop(worker, thread))
        self._listener = bind_listener(self.host, self._port)
        self._listener.setblocking(False)
        self._port = self._listener.getsockname()[1]
        self._accepting = loop.create_task(self._accept(self._listener))
        log.info(
            "data plane listening on %s:%d (%d event loops, sendfile %s)",
            self.host,
            self._port,
            self.loop_count,
            "on" if self.use_sendfile else "off",
        )
        return self._port

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        turns = itertools.cycle(self._loops)
        while True:  # until close() cancels it
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError as exc:  # out of descriptors, say: keep serving who is connected
                log.warning("cannot accept a data connection: %s", exc)
                await asyncio.sleep(0.1)
                continue
            home = next(turns)
            if home.thread is None:
                await self._adopt(home, sock)
            else:
                home.loop.call_soon_threadsafe(self._adopt_later, home, sock)

    def _adopt_later(self, home: _Loop, sock: socket.socket) -> None:
        task = home.loop.create_task(self._adopt(home, sock))
        home.tasks.add(task)
        task.add_done_callback(home.tasks.discard)

    async def _adopt(self, home: _Loop, sock: socket.socket) -> None:
        try:
            await home.loop.connect_accepted_socket(lambda: _ServerProtocol(self, home), sock)
        except OSError as exc:
            log.info("data connection lost while being set up: %s", exc)
            sock.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def connection_count(self) -> int:
        return sum(len(home.connections) for home in self._loops)

    @property
    def receive_bytes(self) -> int:
        """Payload buffer bytes held for requests being received, waiting or served."""
        return self._receive_bytes

    def _reserve(self, buffers: BufferPool, nbytes: int) -> Buffer | None:
        """A buffer from `buffers` for `nbytes`, or None if it would exceed the budget."""
        size = size_class(nbytes)
        with self._budget_lock:
            if self._receive_bytes + size > self.max_receive_bytes:
                return None
            self._receive_bytes += size
        return buffers.acquire(nbytes)

    def _release(self, buffers: BufferPool, buffer: Buffer | None) -> None:
        if buffer is not None:
            with self._budget_lock:
                self._receive_bytes -= len(buffer)
            buffers.release(buffer)

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop accepting, close every connection, wait (bounded) for handlers."""
        await cancel_and_wait(self._accepting)
        if self._listener is not None:
            self._listener.close()
        for home in self._loops:
            if home.thread is None:
                await home.close(grace_s)
                continue
            closing = asyncio.run_coroutine_threadsafe(home.close(grace_s), home.loop)
            try:
                await asyncio.wait_for(asyncio.wrap_future(closing), grace_s + 1.0)
            except TimeoutError:
                log.warning("a data loop did not close within %.1f s", grace_s)
            home.loop.call_soon_threadsafe(home.loop.stop)
        for home in self._loops:
            if home.thread is not None:
                await asyncio.to_thread(home.thread.join, grace_s)
