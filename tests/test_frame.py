"""The data-plane frame codec: round trips, every bad input typed, nothing allocated from a lie."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from flyfs import errors, frame
from flyfs.errors import Code
from flyfs.frame import PREFIX_SIZE, FrameHead, FrameKind, FrameLimits, FrameReader
from flyfs.proto import data_pb2

FRAME_CODES = {
    Code.FRAME_BAD_MAGIC,
    Code.FRAME_BAD_VERSION,
    Code.FRAME_TOO_LARGE,
    Code.FRAME_BAD_HEADER,
}
SMALL = FrameLimits(max_header_bytes=256, max_payload_bytes=4096)


def raw_prefix(
    magic: bytes = b"FLYF",
    version: int = 1,
    kind: int = 1,
    flags: int = 0,
    header_len: int = 0,
    payload_len: int = 0,
) -> bytes:
    """A prefix built from the documented layout, independently of the codec."""
    return struct.pack(">4sBBHIQ", magic, version, kind, flags, header_len, payload_len)


def write_header() -> data_pb2.RequestHeader:
    header = data_pb2.RequestHeader(request_id=7, timeout_ms=5000)
    header.write.chunk_id = bytes(range(16))
    header.write.chain.chain_id, header.write.chain.chain_version = 3, 9
    header.write.tag.client_id, header.write.tag.sequence = b"c" * 16, 42
    header.write.offset, header.write.length = 65536, 1 << 20
    return header


def read_response() -> data_pb2.ResponseHeader:
    header = data_pb2.ResponseHeader(request_id=7, routing_version=12)
    result = header.read.results.add(offset=0, length=1 << 20, commit_ver=5)
    result.block_crc32c.extend(range(16))
    header.read.results.add().status.code = Code.NOT_COMMITTED
    return header


def peak_bytes(call: Callable[[], object]) -> int:
    """Peak Python allocation during `call` (which is expected to raise)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(errors.FlyfsError):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def reassemble(reader: FrameReader, stream: bytes, piece_sizes: list[int]) -> list[tuple]:
    """Feed `stream` in pieces; return (header, payload bytes) per frame."""
    frames: list[list] = []
    pos, sizes = 0, iter(piece_sizes)
    while pos < len(stream):
        size = next(sizes, len(stream))
        for event in reader.feed(stream[pos : pos + size]):
            if isinstance(event, FrameHead):
                frames.append([event.header, bytearray(), event.prefix.payload_len])
            else:
                frames[-1][1] += event
        pos += size
    reader.eof()
    assert all(len(payload) == expected for _, payload, expected in frames)
    return [(header, bytes(payload)) for header, payload, _ in frames]


# ---- round trips ----


def test_the_prefix_layout_is_pinned() -> None:
    encoded = frame.encode(data_pb2.RequestHeader(request_id=1), payload_len=5)
    assert encoded == raw_prefix(header_len=2, payload_len=5) + b"\x08\x01"
    assert PREFIX_SIZE == 20


@pytest.mark.parametrize("payload_len", [0, 1, 4 << 20, frame.MAX_PAYLOAD_BYTES])
@pytest.mark.parametrize("make_header", [write_header, read_response])
def test_prefix_and_header_round_trip(make_header, payload_len: int) -> None:
    header = make_header()
    encoded = frame.encode(header, payload_len)
    prefix = frame.decode_prefix(encoded)
    assert prefix.payload_len == payload_len
    assert prefix.header_len == len(encoded) - PREFIX_SIZE
    assert frame.decode_header(prefix, memoryview(encoded)[PREFIX_SIZE:]) == header


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=97), max_size=200))
def test_reader_yields_the_same_frames_however_the_stream_is_split(piece_sizes) -> None:
    responses = [
        (read_response(), bytes(range(256)) * 40),
        (data_pb2.ResponseHeader(), b""),  # a header that serializes to 0 bytes
        (read_response(), b"x"),
        (data_pb2.ResponseHeader(request_id=1), b""),
    ]
    stream = b"".join(frame.encode(h, len(p)) + p for h, p in responses)
    assert reassemble(FrameReader(FrameKind.RESPONSE), stream, piece_sizes) == responses
    requests = [(write_header(), b"w" * 300), (write_header(), b"")]
    stream = b"".join(frame.encode(h, len(p)) + p for h, p in requests)
    assert reassemble(FrameReader(FrameKind.REQUEST), stream, piece_sizes) == requests


def test_a_large_payload_comes_back_as_views_of_the_fed_buffer() -> None:
    payload = bytes(range(256)) * (32 << 10)  # 8 MiB
    received = bytearray(frame.encode(write_header(), len(payload)) + payload)
    head, body = FrameReader(FrameKind.REQUEST).feed(received)
    assert head.prefix.payload_len == len(payload)
    assert body.obj is received  # no copy: a slice of the caller's buffer
    assert body == payload


def test_a_payload_received_elsewhere_is_only_counted() -> None:
    header = read_response()
    first = frame.encode(header, 1000)
    reader = FrameReader(FrameKind.RESPONSE)
    events = reader.feed(first + b"p" * 10)
    assert isinstance(events[0], FrameHead) and bytes(events[1]) == b"p" * 10
    assert reader.payload_remaining == 990
    reader.payload_received(990)  # e.g. received by recv_into() straight into the destination
    events = reader.feed(frame.encode(header))
    assert [e.header for e in events] == [header]
    reader.eof()


def test_payload_received_beyond_the_frame_is_a_caller_bug() -> None:
    reader = FrameReader(FrameKind.RESPONSE)
    reader.feed(frame.encode(read_response(), 4))
    with pytest.raises(ValueError, match="5 payload bytes received, 4 expected"):
        reader.payload_received(5)


# ---- bad input: a typed error with a clear message ----


def assert_frame_error(exc_info, code: Code, text: str) -> None:
    exc = exc_info.value
    assert exc.code is code
    assert isinstance(exc, ConnectionError)
    assert text in str(exc)


def test_wrong_magic_names_a_stranger() -> None:
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_prefix(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert_frame_error(exc_info, Code.FRAME_BAD_MAGIC, "b'GET ', expected b'FLYF'")


def test_wrong_version() -> None:
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_prefix(raw_prefix(version=2))
    assert_frame_error(exc_info, Code.FRAME_BAD_VERSION, "frame version 2, this process speaks 1")


@pytest.mark.parametrize(
    ("prefix", "expect", "text"),
    [
        (raw_prefix(kind=3), None, "unknown frame kind 3"),
        (raw_prefix(kind=2), FrameKind.REQUEST, "response frame where a request was expected"),
        (raw_prefix(flags=1), None, "unknown frame flags 0x0001"),
        (raw_prefix()[: PREFIX_SIZE - 1], None, "truncated frame prefix: 19 of 20 bytes"),
    ],
)
def test_malformed_prefix(prefix: bytes, expect, text: str) -> None:
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_prefix(prefix, expect)
    assert_frame_error(exc_info, Code.FRAME_BAD_HEADER, text)


@pytest.mark.parametrize(
    ("header_len", "payload_len", "text"),
    [
        (2**32 - 1, 0, "header of 4294967295 bytes exceeds the limit of 1048576"),
        (frame.MAX_HEADER_BYTES + 1, 0, "header of 1048577 bytes"),
        (0, 2**64 - 1, "payload of 18446744073709551615 bytes exceeds the limit of 268435456"),
        (0, frame.MAX_PAYLOAD_BYTES + 1, "payload of 268435457 bytes"),
    ],
)
def test_oversized_lengths_are_refused_before_any_allocation(header_len, payload_len, text) -> None:
    bogus = raw_prefix(header_len=header_len, payload_len=payload_len)
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_prefix(bogus)
    assert_frame_error(exc_info, Code.FRAME_TOO_LARGE, text)
    assert peak_bytes(lambda: frame.decode_prefix(bogus)) < 64 << 10
    assert peak_bytes(lambda: FrameReader(FrameKind.REQUEST).feed(bogus + b"\0" * 64)) < 64 << 10


def test_an_allowed_but_unfed_header_length_is_not_preallocated() -> None:
    reader = FrameReader(FrameKind.REQUEST)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert reader.feed(raw_prefix(header_len=frame.MAX_HEADER_BYTES) + b"\x08") == []
        assert tracemalloc.get_traced_memory()[1] < 64 << 10
    finally:
        tracemalloc.stop()


def test_limits_are_per_call() -> None:
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_prefix(raw_prefix(header_len=257), limits=SMALL)
    assert_frame_error(exc_info, Code.FRAME_TOO_LARGE, "exceeds the limit of 256")
    assert frame.decode_prefix(raw_prefix(header_len=256, payload_len=4096), limits=SMALL)


def test_garbage_header_bytes_keep_the_decode_error_as_cause() -> None:
    garbage = b"\x0a\x05ab"  # field 1 announces 5 bytes, 2 follow
    prefix = frame.decode_prefix(raw_prefix(header_len=len(garbage)))
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_header(prefix, garbage)
    assert_frame_error(exc_info, Code.FRAME_BAD_HEADER, "undecodable request header (4 bytes)")
    assert isinstance(exc_info.value.__cause__, DecodeError)


def test_header_bytes_of_the_wrong_length() -> None:
    prefix = frame.decode_prefix(raw_prefix(header_len=10))
    with pytest.raises(errors.FlyfsError) as exc_info:
        frame.decode_header(prefix, b"\x08\x01")
    assert_frame_error(
        exc_info, Code.FRAME_BAD_HEADER, "header is 2 bytes, the prefix announced 10"
    )


def test_encode_refuses_what_the_peer_would_refuse() -> None:
    big = data_pb2.RequestHeader()
    big.read.ranges.add(chunk_id=bytes(300))
    with pytest.raises(errors.FlyfsError, match=f"header of {big.ByteSize()} bytes exceeds"):
        frame.encode(big, limits=SMALL)
    with pytest.raises(errors.FlyfsError, match="payload of 4097 bytes"):
        frame.encode(data_pb2.RequestHeader(), 4097, limits=SMALL)
    with pytest.raises(ValueError, match="payload_len must be >= 0"):
        frame.encode(data_pb2.RequestHeader(), -1)
    with pytest.raises(TypeError, match="RequestHeader or ResponseHeader"):
        frame.encode(data_pb2.ReadRequest())


def test_a_failed_reader_stays_failed() -> None:
    reader = FrameReader(FrameKind.REQUEST)
    with pytest.raises(errors.FlyfsError):
        reader.feed(raw_prefix(magic=b"XXXX"))
    with pytest.raises(errors.FlyfsError, match="stream failed earlier: frame magic"):
        reader.feed(frame.encode(write_header()))


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        (raw_prefix()[:7], "in a frame prefix (7 of 20 bytes)"),
        (raw_prefix(header_len=9) + b"\x08", "in a header (1 of 9 bytes)"),
        (frame.encode(write_header(), 100) + b"x" * 40, "with 60 payload bytes outstanding"),
    ],
)
def test_eof_inside_a_frame_is_a_lost_connection(stream: bytes, text: str) -> None:
    reader = FrameReader(FrameKind.REQUEST)
    reader.feed(stream)
    with pytest.raises(ConnectionResetError) as exc_info:
        reader.eof()
    assert exc_info.value.code is Code.CONNECTION_LOST
    assert text in str(exc_info.value)


# ---- fuzz: nothing but typed frame errors escapes ----


def only_frame_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except errors.FlyfsError as exc:
        assert exc.code in FRAME_CODES, exc


def decode_all(stream: bytes, piece: int, limits: FrameLimits) -> None:
    """Decode `stream` through the reader in pieces, and through the one-shot functions."""

    def through_reader() -> None:
        reader = FrameReader(FrameKind.REQUEST, limits)
        for pos in range(0, len(stream), piece):
            reader.feed(stream[pos : pos + piece])

    def one_shot() -> None:
        prefix = frame.decode_prefix(stream, FrameKind.REQUEST, limits)
        frame.decode_header(prefix, stream[PREFIX_SIZE : PREFIX_SIZE + prefix.header_len])

    only_frame_errors(through_reader)
    only_frame_errors(one_shot)


def mostly(valid: object, others: st.SearchStrategy) -> st.SearchStrategy:
    """The valid value three times in four, so most examples get past the prefix."""
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), others)


plausible_prefixes = st.builds(
    raw_prefix,
    magic=mostly(b"FLYF", st.binary(min_size=4, max_size=4)),
    version=mostly(1, st.integers(0, 255)),
    kind=mostly(1, st.integers(0, 255)),
    flags=mostly(0, st.integers(0, 0xFFFF)),
    header_len=st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1)),
    payload_len=st.one_of(st.integers(0, 64), st.integers(0, 2**64 - 1)),
)


@settings(max_examples=500, deadline=None)
@given(stream=st.binary(max_size=300), piece=st.integers(1, 64))
def test_random_bytes_raise_only_typed_frame_errors(stream: bytes, piece: int) -> None:
    decode_all(stream, piece, SMALL)


@settings(max_examples=1000, deadline=None)
@given(prefix=plausible_prefixes, body=st.binary(max_size=200), piece=st.integers(1, 64))
def test_plausible_frames_raise_only_typed_frame_errors(
    prefix: bytes, body: bytes, piece: int
) -> None:
    decode_all(prefix + body, piece, SMALL)
    decode_all(prefix + body, piece, frame.DEFAULT_LIMITS)
