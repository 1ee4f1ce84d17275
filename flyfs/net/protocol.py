"""The byte mover under every data-plane connection: frames in, flow control out.

`FrameProtocol` is an `asyncio.BufferedProtocol` that only parses frames with
the one codec (:class:`flyfs.frame.FrameReader`) and hands them to two hooks
a subclass fills in: `frame_started` (where should this payload land?) and
`frame_complete`. Client and server differ only in those hooks.

Copy counts on the receive path:
- prefixes and headers arrive in a reused 64 KiB scratch buffer and are
  parsed in place (one more small copy only when a header is split across
  reads, inside FrameReader);
- payload bytes that arrive in the same read as their header are copied
  once from scratch into the destination (at most the scratch size per
  frame); every later read of that payload goes straight into the
  destination (`get_buffer` returns a memoryview slice of it): 0 copies.
  A destination may be a list of segments filled one after the other (a
  batch read's ranges, each into its caller's buffer): still 0 copies.

Wakeups: while a payload arrives, the socket's SO_RCVLOWAT asks the kernel
to wake the loop only per 512 KiB of it (`_wake_after`).

Memory stays bounded whatever the peer sends: the scratch buffer is fixed,
FrameReader buffers at most one header (<= limits.max_header_bytes), and a
destination is only asked for after the prefix's lengths passed the limits.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import cast

from flyfs import errors
from flyfs.errors import Code
from flyfs.frame import DEFAULT_LIMITS, FrameHead, FrameKind, FrameLimits, FrameReader

log = logging.getLogger("flyfs.net")

SCRATCH_BYTES = 64 << 10
# While a payload arrives, the kernel wakes this connection's loop only once this many
# of its bytes (or all that are left of it) wait in the socket (see `_wake_after`).
WAKE_AFTER_BYTES = 512 << 10

Destination = memoryview | list[memoryview] | None
"""Where a frame's payload lands: one buffer, segments filled in order, or nowhere."""


class FrameProtocol(asyncio.BufferedProtocol):
    """Parses one connection's frames and offers writers a drain future.

    Subclasses override `frame_started`, `frame_complete` and `lost`. A hook
    that raises a FlyfsError closes the connection with that reason logged.
    """

    def __init__(self, expect: FrameKind, limits: FrameLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.transport: asyncio.Transport | None = None
        self.peername = "?"
        self.close_reason: errors.FlyfsError | None = None
        self._reader = FrameReader(expect, limits)
        self._scratch = memoryview(bytearray(SCRATCH_BYTES))
        self._head: FrameHead | None = None  # the frame whose payload is arriving
        self._dest: Destination = None  # what frame_started returned; None: discard
        self._segments: list[memoryview] = []  # the non-empty parts of it, in order
        self._segment = 0  # the one being filled ...
        self._segment_pos = 0  # ... and how far
        self._dest_pos = 0  # payload bytes received (or discarded)
        self._into_dest = False  # the last get_buffer handed out the destination
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.closed = asyncio.Event()  # set by connection_lost
        self._sock: socket.socket | None = None  # None: wake on every byte
        self._lowat = 1

    # ---- hooks -------------------------------------------------------------

    def frame_started(self, head: FrameHead) -> Destination:
        """Where the payload (payload_len > 0) of `head` lands: one buffer of exactly its
        size, or segments filled in order whose sizes add up to it; None discards it."""
        return None

    def frame_complete(self, head: FrameHead, payload: Destination) -> None:
        """A whole frame arrived; `payload` is what frame_started returned."""

    def lost(self, exc: errors.FlyfsError) -> None:
        """The connection is gone; `exc` says why (CONNECTION_LOST or a frame error)."""

    # ---- asyncio callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peername = f"{peer[0]}:{peer[1]}"
        self._sock = transport.get_extra_info("socket")

    def _wake_after(self, wanted: int) -> None:
        """Have the socket report readable once `wanted` bytes (capped) are waiting.

        Why: a wakeup is the dear part of receiving on a VM, not the copy.
        Woken for every segment, a 4 MiB payload cost the *sender* twice
        its CPU (waking an idle vCPU is an interprocessor interrupt, and
        sendfile paid for them); one connection moved 2.1 GB/s.  Woken per
        512 KiB it moved 4.3-4.9 GB/s on the same node and loopback.
        `wanted` never exceeds what is left of the payload being received,
        which the peer has committed to send, so no wait depends on bytes
        that may never come; an EOF or reset wakes the loop regardless, and
        Linux (>= 4.18) grows the receive buffer to hold the mark.  Between
        payloads the mark is 1, so headers are read as soon as they land.
        """
        lowat = max(1, min(wanted, WAKE_AFTER_BYTES))
        if lowat != self._lowat and self._sock is not None:
            self._lowat = lowat
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, lowat)
            except OSError:  # not a TCP socket (a test's pipe): wake on every byte
                self._sock = None

    def get_buffer(self, sizehint: int) -> memoryview:
        # Never empty: uvloop may ask before any byte arrived.
        if self._segments and self._reader.payload_remaining:
            self._into_dest = True
            return self._segments[self._segment][self._segment_pos :]
        self._into_dest = False
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        if self._closed:
            return
        try:
            if self._into_dest:
                self._into_dest = False
                self._advance(nbytes)
                self._reader.payload_received(nbytes)
                if not self._reader.payload_remaining:
                    self._finish_frame()
                    self._wake_after(1)
                else:
                    self._wake_after(self._reader.payload_remaining)
                return
            for event in self._reader.feed(self._scratch[:nbytes]):
                if self._closed:
                    return
                if isinstance(event, FrameHead):
                    self._start_frame(event)
                else:
                    self._payload_piece(event)
            # Mid-payload into a destination: wait for more of it; otherwise (a header,
            # a discarded payload) read whatever comes.
            self._wake_after(self._reader.payload_remaining if self._segments else 1)
        except errors.FlyfsError as exc:
            self.close_with(exc)

    def eof_received(self) -> bool:
        try:
            self._reader.eof()
        except errors.FlyfsError as exc:
            self.close_with(exc)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self.close_reason is None:
            detail = f": {exc}" if exc else ""
            self.close_reason = errors.error(
                Code.CONNECTION_LOST, f"connection to {self.peername} closed{detail}"
            )
        reason = self.close_reason
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(errors.error(reason.code, reason.message))
        self.closed.set()
        self.lost(reason)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- for writers -------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed or self.close_reason is not None

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high-water mark."""
        if self.close_reason is not None:
            raise errors.error(self.close_reason.code, self.close_reason.message)
        if not self._write_paused:
            return
        if self._drain_waiter is None or self._drain_waiter.done():
            self._drain_waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drain_waiter)

    def close_with(self, exc: errors.FlyfsError, level: int = logging.WARNING) -> None:
        """Close the connection because of `exc`, logging the reason once."""
        if self.close_reason is None:
            self.close_reason = exc
            log.log(level, "closing data connection %s: %s", self.peername, exc)
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    # ---- frame assembly ----------------------------------------------------

    def _start_frame(self, head: FrameHead) -> None:
        self._head, self._dest, self._dest_pos = head, None, 0
        self._segments, self._segment, self._segment_pos = [], 0, 0
        size = head.prefix.payload_len
        if size == 0:
            self._finish_frame()
            return
        dest = self.frame_started(head)
        if dest is None:
            return
        segments = [dest] if isinstance(dest, memoryview) else list(dest)
        total = sum(s.nbytes for s in segments)
        if total != size:
            raise errors.error(
                Code.INTERNAL, f"destination of {total} bytes for a {size}-byte payload"
            )
        self._dest, self._segments = dest, [s for s in segments if s.nbytes]

    def _advance(self, nbytes: int) -> None:
        """`nbytes` more of the payload landed in the destination's current segment(s)."""
        self._dest_pos += nbytes
        self._segment_pos += nbytes
        segments = self._segments
        while self._segment < len(segments) and self._segment_pos >= segments[self._segment].nbytes:
            self._segment_pos -= segments[self._segment].nbytes
            self._segment += 1

    def _payload_piece(self, piece: memoryview) -> None:
        at = 0
        while at < len(piece) and self._segment < len(self._segments):  # bounded by segments
            # Copy 1 of 1: bytes that shared a read with their header.
            segment = self._segments[self._segment]
            n = min(len(piece) - at, segment.nbytes - self._segment_pos)
            segment[self._segment_pos : self._segment_pos + n] = piece[at : at + n]
            self._advance(n)
            at += n
        if not self._segments:
            self._dest_pos += len(piece)  # discarded
        # Not reader.payload_remaining: one feed may hold several frames.
        assert self._head is not None
        if self._dest_pos == self._head.prefix.payload_len:
            self._finish_frame()

    def _finish_frame(self) -> None:
        head, dest = self._head, self._dest
        self._head, self._dest, self._dest_pos = None, None, 0
        self._segments, self._segment, self._segment_pos = [], 0, 0
        assert head is not None
        self.frame_complete(head, dest)
