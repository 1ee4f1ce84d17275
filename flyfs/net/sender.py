"""One connection's send queue: whole frames, one at a time, payloads by sendfile.

Everything a server writes on a connection goes through one `FrameSender`
task, so a payload in flight (which may take many event-loop turns while
`sendfile` waits for the socket) is never interleaved with another frame.

Zero-copy path for file regions (DESIGN.md, uvloop 0.23 facts): wait until
the transport's write buffer is empty (the header went out), then
`os.sendfile` on the socket's fd; on BlockingIOError wait for writability
with `loop.add_writer` on an `os.dup` of that fd (uvloop refuses the fd its
transport owns) and continue. Copies in Python: 0.

Fallback (`FLYFS_NO_SENDFILE=1`, or `sendfile=False`): `os.pread` the region
in 1 MiB pieces and write them through the transport. Copies: 1 (kernel into
a new bytes per piece), plus what the transport buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flyfs import errors
from flyfs.errors import Code
from flyfs.frame import encode
from flyfs.net.protocol import FrameProtocol
from flyfs.proto import data_pb2

log = logging.getLogger("flyfs.net")

PREAD_PIECE_BYTES = 1 << 20
NO_SENDFILE_ENV = "FLYFS_NO_SENDFILE"


@dataclass(frozen=True)
class FileRegion:
    """`length` bytes of open file `fd` from `offset`, sent without reading them into Python.

    The sender never closes `fd`: the owner does (e.g. in the response's
    `on_sent` callback), so a chunk engine can hold it under its lock rules.
    """

    fd: int
    offset: int
    length: int


Part = bytes | bytearray | memoryview | FileRegion


def part_length(part: Part) -> int:
    return part.length if isinstance(part, FileRegion) else memoryview(part).nbytes


def sendfile_enabled() -> bool:
    return os.environ.get(NO_SENDFILE_ENV, "") not in ("1", "true", "yes")


@dataclass(eq=False)
class _Item:
    header: data_pb2.ResponseHeader
    parts: Sequence[Part]
    on_sent: Callable[[BaseException | None], None] | None
    close_after: bool


class FrameSender:
    """The single writer of one server connection."""

    def __init__(
        self,
        protocol: FrameProtocol,
        *,
        use_sendfile: bool = True,
        stall_timeout_s: float = 60.0,
    ) -> None:
        assert protocol.transport is not None
        self._protocol = protocol
        self._transport = protocol.transport
        self._use_sendfile = use_sendfile
        self._stall_timeout_s = stall_timeout_s
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._dup_fd = -1
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(
        self,
        header: data_pb2.ResponseHeader,
        parts: Sequence[Part] = (),
        on_sent: Callable[[BaseException | None], None] | None = None,
        close_after: bool = False,
    ) -> None:
        """Queue one frame; `on_sent(error or None)` runs once it left or was dropped.

        The queue holds at most one item per request in flight on the
        connection (the server bounds those), so it needs no bound of its own.
        """
        self._queue.put_nowait(_Item(header, parts, on_sent, close_after))

    def stop(self) -> None:
        """Stop after the queued frames (the connection is gone or going)."""
        self._queue.put_nowait(None)

    def cancel(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        item: _Item | None = None
        try:
            while (item := await self._queue.get()) is not None:  # one item per queued frame
                failure: BaseException | None = None
                try:
                    await self._write(item)
                except (OSError, asyncio.CancelledError) as exc:
                    failure = exc
                    raise
                finally:
                    _notify(item, failure)
                if item.close_after:
                    self._transport.close()
                    break
        except asyncio.CancelledError:
            pass
        except OSError as exc:
            if not self._protocol.is_closed:
                reason = exc if isinstance(exc, errors.FlyfsError) else None
                self._protocol.close_with(
                    reason or errors.error(Code.CONNECTION_LOST, f"send failed: {exc}")
                )
        finally:
            self._drop_queued()
            if self._dup_fd >= 0:
                with contextlib.suppress(OSError, RuntimeError):
                    asyncio.get_running_loop().remove_writer(self._dup_fd)
                os.close(self._dup_fd)
                self._dup_fd = -1

    def _drop_queued(self) -> None:
        lost = errors.error(Code.CONNECTION_LOST, "connection closed before the frame was sent")
        while not self._queue.empty():  # bounded: the queue only shrinks here
            item = self._queue.get_nowait()
            if item is not None:
                _notify(item, lost)

    async def _write(self, item: _Item) -> None:
        total = sum(part_length(p) for p in item.parts)
        frame = encode(item.header, total, self._protocol.limits)
        await self._protocol.drain()
        self._transport.write(frame)
        for part in item.parts:
            if isinstance(part, FileRegion):
                if part.length == 0:
                    continue
                if self._use_sendfile:
                    await self._sendfile(part)
                else:
                    await self._send_pread(part)
            elif part_length(part):
                # 0 copies here; the transport copies what the socket did not take.
                self._transport.write(part)
                await self._protocol.drain()

    async def _sendfile(self, region: FileRegion) -> None:
        await self._wait_flushed()
        sock = self._transport.get_extra_info("socket")
        sock_fd = sock.fileno()
        offset, left = region.offset, region.length
        while left:  # each turn sends > 0 bytes or waits (bounded) for the socket
            try:
                sent = os.sendfile(sock_fd, region.fd, offset, left)
            except BlockingIOError:
                await self._writable(sock_fd)
                continue
            if sent == 0:
                raise errors.error(
                    Code.INTERNAL, f"file ended {left} bytes before the region's end"
                )
            offset += sent
            left -= sent

    async def _send_pread(self, region: FileRegion) -> None:
        offset, left = region.offset, region.length
        while left:  # each turn sends > 0 bytes
            piece = os.pread(region.fd, min(left, PREAD_PIECE_BYTES), offset)  # copy 1
            if not piece:
                raise errors.error(
                    Code.INTERNAL, f"file ended {left} bytes before the region's end"
                )
            self._transport.write(piece)
            await self._protocol.drain()
            offset += len(piece)
            left -= len(piece)

    async def _wait_flushed(self) -> None:
        """Until the transport holds no unsent bytes, so sendfile cannot overtake them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stall_timeout_s
        spins = 0
        while self._transport.get_write_buffer_size():  # bounded by the deadline
            if self._protocol.is_closed:
                raise errors.error(Code.CONNECTION_LOST, "connection closed mid-frame")
            if loop.time() > deadline:
                raise errors.error(Code.TIMEOUT, "peer stopped reading")
            await self._protocol.drain()
            spins += 1
            # uvloop flushes at the end of a loop turn: yield first, then poll gently.
            await asyncio.sleep(0 if spins < 16 else 0.001)

    async def _writable(self, sock_fd: int) -> None:
        loop = asyncio.get_running_loop()
        if self._dup_fd < 0:
            self._dup_fd = os.dup(sock_fd)
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(self._dup_fd, wake)
        try:
            async with asyncio.timeout(self._stall_timeout_s):
                await ready
        except TimeoutError as exc:
            raise errors.error(Code.TIMEOUT, "peer stopped reading") from exc
        finally:
            loop.remove_writer(self._dup_fd)
        if self._protocol.is_closed:
            raise errors.error(Code.CONNECTION_LOST, "connection closed mid-frame")


def _notify(item: _Item, failure: BaseException | None) -> None:
    if item.on_sent is None:
        return
    try:
        item.on_sent(failure)
    except Exception:
        log.exception("on_sent callback failed")
