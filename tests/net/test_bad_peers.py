"""Bad peers lose their own connection only; pending calls fail fast, never hang."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest
from net_toy import CLUSTER, ping, read, run, serving

from flyfs import frame
from flyfs.errors import Code, FlyfsError
from flyfs.net import Connection, identity
from flyfs.proto import data_pb2


def prefix(magic=b"FLYF", version=1, kind=1, flags=0, header_len=0, payload_len=0) -> bytes:
    return struct.pack(">4sBBHIQ", magic, version, kind, flags, header_len, payload_len)


HELLO = frame.encode(data_pb2.RequestHeader(request_id=1, hello=identity(CLUSTER)))
PING = frame.encode(ping(1), 3) + b"abc"

BAD_STREAMS = {
    "garbage": os.urandom(4096),
    "wrong_magic": prefix(magic=b"HTTP") + b"x" * 64,
    "wrong_version": prefix(version=9),
    "huge_header": prefix(header_len=1 << 31),
    "huge_payload": prefix(payload_len=1 << 60),
    "unknown_flags": prefix(flags=1),
    "response_kind": prefix(kind=2),
    "bad_header_bytes": prefix(header_len=8) + b"\xff" * 8,
    "truncated_prefix": prefix()[:9],
    "truncated_header": prefix(header_len=100) + b"\x08",
    "request_before_hello": PING,
    "payload_on_hello": frame.encode(data_pb2.RequestHeader(hello=identity(CLUSTER)), 5) + b"12345",
    "huge_payload_after_hello": HELLO + prefix(header_len=0, payload_len=1 << 40),
    "second_hello": HELLO + HELLO,
}


async def closed_by_server(port: int, data: bytes) -> bytes:
    """Send `data`, half-close, and read until the server closes (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    got = await asyncio.wait_for(reader.read(), 5)  # EOF: the server closed
    writer.close()
    return got


def test_bad_streams_close_only_their_connection(data_file) -> None:
    path, data = data_file

    async def body() -> None:
        async with serving(path) as server:
            good = await Connection.open("127.0.0.1", server.port, identity(CLUSTER), timeout_s=5)
            stop = asyncio.Event()

            async def keep_reading() -> int:
                rounds = 0
                into = bytearray(65536)
                while not stop.is_set() and rounds < 100_000:
                    offset = (rounds * 4099) % (1 << 20)
                    await good.request(read((offset, 65536)), into=into, timeout_s=5)
                    assert into == data[offset : offset + 65536]
                    rounds += 1
                return rounds

            reader_task = asyncio.create_task(keep_reading())
            for name, stream in BAD_STREAMS.items():
                answer = await closed_by_server(server.port, stream)
                # Closed (EOF reached); a hello may have been answered before the bad frame.
                assert answer == b"" or answer.startswith(b"FLYF"), name
            stop.set()
            rounds = await reader_task
            assert rounds > 0 and good.is_open
            for _ in range(100):  # bounded wait for the server to forget closed peers
                if server.connection_count == 1:
                    break
                await asyncio.sleep(0.01)
            assert server.connection_count == 1
            good.close()

    run(body())


def test_wrong_cluster_is_refused_and_server_keeps_serving() -> None:
    async def body() -> None:
        async with serving() as server:
            with pytest.raises(FlyfsError) as info:
                await Connection.open("127.0.0.1", server.port, identity("other"), timeout_s=5)
            assert info.value.code == Code.CLUSTER_MISMATCH
            assert isinstance(info.value, ConnectionRefusedError)
            good = await Connection.open("127.0.0.1", server.port, identity(CLUSTER), timeout_s=5)
            _, view = await good.request(ping(0), b"still here", timeout_s=5)
            assert bytes(view) == b"still here"
            good.close()

    run(body())


def test_client_refuses_server_of_another_cluster() -> None:
    async def body() -> None:
        # A server that accepts the hello but names another cluster in its answer.
        answer = data_pb2.ResponseHeader(request_id=1, hello=identity("stranger"))

        async def fake(reader, writer):
            await reader.read(1)
            writer.write(frame.encode(answer))
            await writer.drain()
            await asyncio.sleep(1)
            writer.close()

        srv = await asyncio.start_server(fake, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        with pytest.raises(FlyfsError) as info:
            await Connection.open("127.0.0.1", port, identity(CLUSTER), timeout_s=5)
        assert info.value.code == Code.CLUSTER_MISMATCH
        srv.close()

    run(body())


def test_server_going_away_fails_pending_requests() -> None:
    async def body() -> None:
        async with serving() as server:
            conn = await Connection.open("127.0.0.1", server.port, identity(CLUSTER), timeout_s=5)
            stuck = [
                asyncio.create_task(conn.request(data_pb2.RequestHeader(commit={}), timeout_s=10))
                for _ in range(5)
            ]
            await asyncio.sleep(0.05)
            for peer in [c for home in server._loops for c in home.connections]:
                peer.transport.abort()
            results = await asyncio.wait_for(
                asyncio.gather(*stuck, return_exceptions=True), timeout=5
            )
            assert all(isinstance(r, FlyfsError) for r in results), results
            assert {r.code for r in results} == {Code.CONNECTION_LOST}
            assert not conn.is_open
            with pytest.raises(FlyfsError) as info:
                await conn.request(ping(0), timeout_s=1)
            assert info.value.code == Code.CONNECTION_LOST

    run(body())


def test_disconnect_mid_payload_into_caller_buffer() -> None:
    """A server that dies halfway through a 1 MiB payload: CONNECTION_LOST, no hang."""

    async def half_server(reader, writer):
        hello = await reader.readexactly(frame.PREFIX_SIZE)
        size = frame.decode_prefix(hello).header_len
        await reader.readexactly(size)
        writer.write(frame.encode(data_pb2.ResponseHeader(request_id=1, hello=identity(CLUSTER))))
        head = await reader.readexactly(frame.PREFIX_SIZE)
        request = frame.decode_header(
            frame.decode_prefix(head),
            await reader.readexactly(frame.decode_prefix(head).header_len),
        )
        response = data_pb2.ResponseHeader(request_id=request.request_id)
        writer.write(frame.encode(response, 1 << 20) + b"z" * (512 << 10))
        await writer.drain()
        writer.transport.abort()

    async def body() -> None:
        srv = await asyncio.start_server(half_server, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        conn = await Connection.open("127.0.0.1", port, identity(CLUSTER), timeout_s=5)
        into = bytearray(1 << 20)
        with pytest.raises(FlyfsError) as info:
            await conn.request(read((0, 1 << 20)), into=into, timeout_s=5)
        assert info.value.code == Code.CONNECTION_LOST
        assert isinstance(info.value, ConnectionResetError)
        srv.close()

    run(body())


def test_connect_refused_is_unavailable() -> None:
    async def body() -> None:
        srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        srv.close()
        await srv.wait_closed()
        with pytest.raises(FlyfsError) as info:
            await Connection.open("127.0.0.1", port, identity(CLUSTER), timeout_s=2)
        assert info.value.code == Code.UNAVAILABLE

    run(body())


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _until(condition, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):  # bounded
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition()


def test_announced_payloads_cost_budget_not_memory() -> None:
    """Peers announcing 256 MiB and sending 64 KiB: the server reserves, the pages stay unmapped."""

    async def body() -> None:
        async with serving() as server:
            before = _rss()
            writers = []
            for i in range(3):
                _, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(HELLO + frame.encode(ping(i), frame.MAX_PAYLOAD_BYTES) + bytes(65536))
                writers.append(writer)
            await _until(lambda: server.receive_bytes == 3 * frame.MAX_PAYLOAD_BYTES)
            assert _rss() - before < 64 << 20
            for writer in writers:
                writer.transport.abort()
            await _until(lambda: server.receive_bytes == 0)  # released with the connections

    run(body())


def test_payloads_past_the_budget_are_refused_not_the_connection() -> None:
    async def body() -> None:
        async with serving(max_receive_bytes=1 << 20) as server:
            # A stranger announces 1 MiB and sends 10 bytes: it holds the whole budget.
            _, hog = await asyncio.open_connection("127.0.0.1", server.port)
            hog.write(HELLO + frame.encode(ping(1), 1 << 20) + b"x" * 10)
            await _until(lambda: server.receive_bytes == 1 << 20)
            good = await Connection.open("127.0.0.1", server.port, identity(CLUSTER), timeout_s=5)
            answer, view = await good.request(ping(0), timeout_s=5)  # no payload, no budget
            assert answer.status.code == 0
            answer, view = await good.request(ping(0), b"abc" * 30_000, timeout_s=5)
            assert answer.status.code == Code.UNAVAILABLE and len(view) == 0
            hog.transport.abort()
            await _until(lambda: server.receive_bytes == 0)
            answer, view = await good.request(ping(0), b"abc" * 30_000, timeout_s=5)
            assert answer.status.code == 0 and bytes(view) == b"abc" * 30_000
            good.close()

    run(body())


def _answering_server(payload: bytes, pieces: int, pause_s: float, then_close: bool):
    """A server that answers the first request with `payload` in `pieces` slow writes
    (and then, with `then_close`, closes cleanly before the last piece)."""

    async def serve(reader, writer):
        hello = await reader.readexactly(frame.PREFIX_SIZE)
        await reader.readexactly(frame.decode_prefix(hello).header_len)
        writer.write(frame.encode(data_pb2.ResponseHeader(request_id=1, hello=identity(CLUSTER))))
        head = frame.decode_prefix(await reader.readexactly(frame.PREFIX_SIZE))
        request = frame.decode_header(head, await reader.readexactly(head.header_len))
        response = data_pb2.ResponseHeader(request_id=request.request_id)
        writer.write(frame.encode(response, len(payload)))
        step = -(-len(payload) // pieces)
        for k in range(pieces):
            if then_close and k == pieces - 1:
                break
            writer.write(payload[k * step : (k + 1) * step])
            await writer.drain()
            await asyncio.sleep(pause_s)
        if not then_close:
            await reader.read()  # stay connected until the client leaves: no EOF helps it
        writer.close()

    return serve


@pytest.mark.parametrize("then_close", [False, True], ids=["trickle", "eof_mid_payload"])
def test_a_payload_trickling_in_arrives_whole_or_fails_fast(then_close: bool) -> None:
    """The receiver waits for payload bytes in big steps (SO_RCVLOWAT): a payload sent
    in small pieces with pauses must still arrive whole, and an EOF short of its end
    must fail the request at once, not wait for bytes that never come."""
    payload = os.urandom((640 << 10) + 4321)  # more than one wake mark, not two

    async def body() -> None:
        srv = await asyncio.start_server(
            _answering_server(payload, 16, 0.01, then_close), "127.0.0.1", 0
        )
        port = srv.sockets[0].getsockname()[1]
        conn = await Connection.open("127.0.0.1", port, identity(CLUSTER), timeout_s=5)
        into = bytearray(len(payload))
        loop = asyncio.get_running_loop()
        started = loop.time()
        if then_close:
            with pytest.raises(FlyfsError) as info:
                await conn.request(read((0, len(payload))), into=into, timeout_s=10)
            assert info.value.code == Code.CONNECTION_LOST
        else:
            response, _ = await conn.request(read((0, len(payload))), into=into, timeout_s=10)
            assert response.status.code == 0
            assert into == payload
        assert loop.time() - started < 5  # the 10 s timeout never decided it
        conn.close()
        srv.close()

    run(body())
