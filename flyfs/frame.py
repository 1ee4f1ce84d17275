"""The data-plane frame codec: the one place that knows how frames look on the wire.

A frame is a fixed 20-byte prefix, a protobuf header, then raw payload bytes::

    offset  size  field        value
    0       4     magic        b"FLYF"
    4       1     version      1
    5       1     kind         1 request (RequestHeader), 2 response (ResponseHeader)
    6       2     flags        0: none defined yet; a receiver refuses unknown bits
    8       4     header_len   <= FrameLimits.max_header_bytes   (1 MiB)
    12      8     payload_len  <= FrameLimits.max_payload_bytes  (256 MiB)
    20            header       header_len bytes of flyfs.proto.data_pb2 *Header
                  payload      payload_len raw bytes (chunk data)

Integers are big-endian. The payload sits outside protobuf because a
protobuf `bytes` field is copied into and out of the message, while raw
bytes after the header can leave a server by `sendfile` and land in the
caller's buffer. The lengths sit in a fixed prefix so a receiver checks them
against its limits from 20 bytes, before it allocates or parses anything.

Every decoding failure is a typed :class:`flyfs.errors.FlyfsError` (a
`ConnectionError`): the connection that sent it is closed with the logged
reason, and no peer can crash a process or make it allocate from a length
it sent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from google.protobuf.message import DecodeError

from flyfs import errors
from flyfs.errors import Code
from flyfs.proto import data_pb2

MAGIC = b"FLYF"
VERSION = 1
_PREFIX = struct.Struct("!4sBBHIQ")
PREFIX_SIZE = _PREFIX.size

MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 256 << 20

Header = data_pb2.RequestHeader | data_pb2.ResponseHeader


class FrameKind(IntEnum):
    REQUEST = 1
    RESPONSE = 2


_HEADER_TYPES: dict[FrameKind, type[Header]] = {
    FrameKind.REQUEST: data_pb2.RequestHeader,
    FrameKind.RESPONSE: data_pb2.ResponseHeader,
}


@dataclass(frozen=True)
class FrameLimits:
    """Largest header and payload a connection accepts (and sends)."""

    max_header_bytes: int = MAX_HEADER_BYTES
    max_payload_bytes: int = MAX_PAYLOAD_BYTES


DEFAULT_LIMITS = FrameLimits()


class Prefix(NamedTuple):
    kind: FrameKind
    header_len: int
    payload_len: int


class FrameHead(NamedTuple):
    """A frame whose prefix and header have arrived; its payload follows."""

    prefix: Prefix
    header: Header


def encode(header: Header, payload_len: int = 0, limits: FrameLimits = DEFAULT_LIMITS) -> bytes:
    """Prefix + serialized header as one `bytes`; the caller sends the payload after it.

    The payload is not an argument so that it can go out by `sendfile` or
    from a memoryview: the codec copies header bytes (serialize, then one
    join, both small) and never touches payload bytes. Lengths over
    `limits` raise FRAME_TOO_LARGE here, so nothing is sent that the peer
    would refuse.
    """
    kind = _kind_of(header)
    if payload_len < 0:
        raise ValueError(f"payload_len must be >= 0, got {payload_len}")
    body = header.SerializeToString()
    _check_lengths(len(body), payload_len, limits)
    return _PREFIX.pack(MAGIC, VERSION, kind, 0, len(body), payload_len) + body


def decode_prefix(
    buf: bytes | bytearray | memoryview,
    expect: FrameKind | None = None,
    limits: FrameLimits = DEFAULT_LIMITS,
) -> Prefix:
    """Validate and unpack the prefix at the start of `buf`, in place (no copy).

    Checked in wire order (magic, version, kind, flags, then both lengths
    against `limits`), so a stranger on the port is named as such rather
    than as an oversized frame. `expect` refuses a frame of the other kind,
    e.g. a response arriving at a server.
    """
    if len(buf) < PREFIX_SIZE:
        raise errors.error(
            Code.FRAME_BAD_HEADER, f"truncated frame prefix: {len(buf)} of {PREFIX_SIZE} bytes"
        )
    magic, version, kind, flags, header_len, payload_len = _PREFIX.unpack_from(buf)
    if magic != MAGIC:
        raise errors.error(
            Code.FRAME_BAD_MAGIC,
            f"frame magic {magic!r}, expected {MAGIC!r}: the peer does not speak flyfs frames",
        )
    if version != VERSION:
        raise errors.error(
            Code.FRAME_BAD_VERSION, f"frame version {version}, this process speaks {VERSION}"
        )
    if kind not in _HEADER_TYPES:
        raise errors.error(Code.FRAME_BAD_HEADER, f"unknown frame kind {kind}")
    kind = FrameKind(kind)
    if expect is not None and kind != expect:
        raise errors.error(
            Code.FRAME_BAD_HEADER,
            f"{kind.name.lower()} frame where a {expect.name.lower()} was expected",
        )
    if flags:
        raise errors.error(Code.FRAME_BAD_HEADER, f"unknown frame flags {flags:#06x}")
    _check_lengths(header_len, payload_len, limits)
    return Prefix(kind, header_len, payload_len)


def decode_header(prefix: Prefix, data: bytes | bytearray | memoryview) -> Header:
    """Parse the `prefix.header_len` header bytes in `data` (a memoryview is not copied).

    A header without a body is accepted: a newer peer's new request kind
    should be answered NOT_SUPPORTED by the server, not cost the connection.
    """
    if len(data) != prefix.header_len:
        raise errors.error(
            Code.FRAME_BAD_HEADER,
            f"header is {len(data)} bytes, the prefix announced {prefix.header_len}",
        )
    header = _HEADER_TYPES[prefix.kind]()
    try:
        header.ParseFromString(data)
    except DecodeError as exc:
        raise errors.error(
            Code.FRAME_BAD_HEADER,
            f"undecodable {prefix.kind.name.lower()} header ({prefix.header_len} bytes): {exc}",
        ) from exc
    return header


class FrameReader:
    """Incremental frame parser for one connection's byte stream.

    `feed` takes whatever arrived and returns, in stream order, a
    :class:`FrameHead` when a frame's prefix and header are complete, then
    memoryview slices of the fed data holding that frame's payload (a frame
    is complete once they add up to `prefix.payload_len`; at once for 0).
    The slices are valid until the caller reuses the buffer it fed.

    For zero-copy receives, an `asyncio.BufferedProtocol` that has seen a
    FrameHead may receive the payload straight into its destination and
    report the count with :meth:`payload_received` instead of feeding it.

    Copies: the prefix is unpacked in place; a header is parsed from the fed
    buffer when it arrived in one piece, else assembled once in a small
    buffer; payload bytes are never copied or held. Memory: at most
    PREFIX_SIZE + max_header_bytes is ever buffered, grown only as bytes
    arrive and only after the prefix's lengths passed the limits.

    After an error the stream is out of sync and every later call fails:
    close the connection.
    """

    def __init__(self, expect: FrameKind, limits: FrameLimits = DEFAULT_LIMITS) -> None:
        self._expect = expect
        self._limits = limits
        self._pending = bytearray()  # a prefix or header split across feeds
        self._prefix: Prefix | None = None  # set while its header is incomplete
        self._payload_left = 0
        self._failure: errors.FlyfsError | None = None

    @property
    def payload_remaining(self) -> int:
        """Payload bytes of the current frame not yet fed or reported."""
        return self._payload_left

    def feed(self, data: bytes | bytearray | memoryview) -> list[FrameHead | memoryview]:
        self._check_usable()
        view = memoryview(data)
        events: list[FrameHead | memoryview] = []
        pos = 0
        try:
            while pos < len(view):
                if self._payload_left:
                    take = min(self._payload_left, len(view) - pos)
                    events.append(view[pos : pos + take])
                    self._payload_left -= take
                    pos += take
                    continue
                if self._prefix is None:
                    part, pos = self._take(view, pos, PREFIX_SIZE)
                    if part is None:
                        break
                    self._prefix = decode_prefix(part, self._expect, self._limits)
                # A zero-length header completes here even at the end of `view`.
                part, pos = self._take(view, pos, self._prefix.header_len)
                if part is None:
                    break
                events.append(FrameHead(self._prefix, decode_header(self._prefix, part)))
                self._payload_left = self._prefix.payload_len
                self._prefix = None
        except errors.FlyfsError as exc:
            self._failure = exc
            raise
        return events

    def payload_received(self, nbytes: int) -> None:
        """Count `nbytes` of the current payload that the caller received itself."""
        self._check_usable()
        if not 0 <= nbytes <= self._payload_left:
            raise ValueError(f"{nbytes} payload bytes received, {self._payload_left} expected")
        self._payload_left -= nbytes

    def eof(self) -> None:
        """The peer closed: CONNECTION_LOST if it did so inside a frame."""
        if self._payload_left:
            where = f"with {self._payload_left} payload bytes outstanding"
        elif self._prefix is not None:
            where = f"in a header ({len(self._pending)} of {self._prefix.header_len} bytes)"
        elif self._pending:
            where = f"in a frame prefix ({len(self._pending)} of {PREFIX_SIZE} bytes)"
        else:
            return
        raise errors.error(Code.CONNECTION_LOST, f"peer closed mid-frame, {where}")

    def _take(self, view: memoryview, pos: int, need: int) -> tuple[memoryview | None, int]:
        """`need` bytes from `pos` on, or None until enough have been fed.

        Bytes found whole in `view` are returned as a slice of it; a part
        split across feeds is accumulated in `_pending` (one copy).
        """
        if not self._pending and len(view) - pos >= need:
            return view[pos : pos + need], pos + need
        take = min(need - len(self._pending), len(view) - pos)
        self._pending += view[pos : pos + take]
        pos += take
        if len(self._pending) < need:
            return None, pos
        # Hand the filled buffer over rather than copy it out of `_pending`.
        whole, self._pending = self._pending, bytearray()
        return memoryview(whole), pos

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise errors.error(
                self._failure.code, f"stream failed earlier: {self._failure.message}"
            )


def _kind_of(header: Header) -> FrameKind:
    if isinstance(header, data_pb2.RequestHeader):
        return FrameKind.REQUEST
    if isinstance(header, data_pb2.ResponseHeader):
        return FrameKind.RESPONSE
    raise TypeError(f"a frame header is a RequestHeader or ResponseHeader, not {type(header)}")


def _check_lengths(header_len: int, payload_len: int, limits: FrameLimits) -> None:
    if header_len > limits.max_header_bytes:
        raise errors.error(
            Code.FRAME_TOO_LARGE,
            f"frame header of {header_len} bytes exceeds the limit of {limits.max_header_bytes}",
        )
    if payload_len > limits.max_payload_bytes:
        raise errors.error(
            Code.FRAME_TOO_LARGE,
            f"frame payload of {payload_len} bytes exceeds the limit of {limits.max_payload_bytes}",
        )
