"""Payload round trips, pipelining, the pool and the into= path, over real sockets."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import tracemalloc

import pytest
from net_toy import CLUSTER, ping, read, run, serving

from flyfs.errors import Code, FlyfsError
from flyfs.net import Connection, ConnectionPool, identity, raise_for_status

SIZES = [0, 1, (64 << 10) - 1, 4 << 20]


def me() -> object:
    return identity(CLUSTER, name="test-client")


async def connect(server) -> Connection:
    return await Connection.open("127.0.0.1", server.port, me(), timeout_s=5)


@pytest.mark.parametrize("size", SIZES)
def test_echo_round_trip(size: int) -> None:
    payload = os.urandom(size)

    async def body() -> None:
        async with serving() as server:
            conn = await connect(server)
            assert conn.peer.cluster_id == CLUSTER and conn.peer.node_id == 7
            header, view = await conn.request(ping(0), payload, timeout_s=5)
            raise_for_status(header)
            assert bytes(view) == payload
            into = bytearray(size + 3)
            header, view = await conn.request(ping(0), memoryview(payload), into=into, timeout_s=5)
            assert view.obj is into and bytes(into[:size]) == payload
            conn.close()

    run(body())


@pytest.mark.parametrize("size", SIZES)
def test_file_region_round_trip(size: int, data_file) -> None:
    path, data = data_file

    async def body() -> None:
        async with serving(path) as server:
            conn = await connect(server)
            header, view = await conn.request(read((5, size)), timeout_s=5)
            raise_for_status(header)
            assert header.read.results[0].length == size
            assert bytes(view) == data[5 : 5 + size]
            conn.close()

    run(body())


def test_pipelined_on_one_connection() -> None:
    async def body() -> None:
        async with serving() as server:
            conn = await connect(server)

            async def worker(w: int) -> int:
                rng = random.Random(w)
                for i in range(10):
                    tag = w * 100 + i
                    payload = rng.randbytes(rng.choice([0, 1, 100, 70_000]))
                    header, view = await conn.request(ping(tag), payload, timeout_s=5)
                    assert header.ping.sent_monotonic_ns == tag
                    assert bytes(view) == payload
                return w

            done = await asyncio.gather(*(worker(w) for w in range(20)))
            assert done == list(range(20))
            assert conn.inflight == 0
            conn.close()

    run(body())


def test_pool_bounded_round_robin_and_reconnect(data_file) -> None:
    path, data = data_file

    async def body() -> None:
        async with serving(path) as server:
            pool = ConnectionPool(me(), max_per_address=3, timeout_s=5)
            address = ("127.0.0.1", server.port)

            async def one(i: int) -> None:
                offset, length = (i * 7919) % (4 << 20), 1000 + i
                into = bytearray(length)
                header, _ = await pool.request(address, read((offset, length)), into=into)
                assert bytes(into) == data[offset : offset + length]
                header, view = await pool.request(address, ping(i), b"x" * i)
                assert header.ping.sent_monotonic_ns == i and bytes(view) == b"x" * i

            await asyncio.gather(*(one(i) for i in range(60)))
            assert 1 <= pool.connection_count(address) <= 3
            assert server.connection_count <= 3
            # Every connection dies (server side): the next calls reconnect.
            for conn in [c for home in server._loops for c in home.connections]:
                conn.transport.abort()
            await asyncio.sleep(0.05)
            await asyncio.gather(*(one(i) for i in range(10)))
            assert pool.connection_count(address) >= 1
            await pool.close()
            with pytest.raises(FlyfsError) as info:
                await pool.request(address, ping(1))
            assert info.value.code == Code.UNAVAILABLE

    run(body())


def test_connections_are_dealt_to_every_loop(data_file) -> None:
    """Three loops (two of them threads) serve six connections, two each, all correctly."""
    path, data = data_file

    async def body() -> None:
        async with serving(path, loops=3) as server:
            conns = [await connect(server) for _ in range(6)]

            async def one(conn: Connection, i: int) -> None:
                offset, length = (i * 104_729) % (4 << 20), 70_000 + i
                into = bytearray(length)
                await conn.request(read((offset, length)), into=into)
                assert bytes(into) == data[offset : offset + length]
                header, view = await conn.request(ping(i), b"y" * i)
                assert header.ping.sent_monotonic_ns == i and bytes(view) == b"y" * i

            await asyncio.gather(*(one(conns[i % 6], i) for i in range(120)))
            assert [len(home.connections) for home in server._loops] == [2, 2, 2]
            threads = [home.thread for home in server._loops if home.thread is not None]
            assert len(threads) == 2
            for conn in conns:
                conn.close()
        assert not any(thread.is_alive() for thread in threads)
        assert server.receive_bytes == 0

    run(body())


def test_into_lands_in_caller_buffer_without_a_payload_sized_allocation(data_file) -> None:
    path, data = data_file
    size = 4 << 20

    async def body() -> None:
        async with serving(path) as server:
            conn = await connect(server)
            into = bytearray(size)
            await conn.request(read((0, size)), into=into, timeout_s=5)  # warm up
            into[:] = bytes(size)
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                _, view = await conn.request(read((1, size)), into=into, timeout_s=5)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert view.obj is into
            assert into == data[1 : 1 + size]
            assert peak < size // 8, f"peak {peak} bytes traced while receiving {size}"
            conn.close()

    run(body())


def test_too_small_into_fails_that_request_only(data_file) -> None:
    path, data = data_file

    async def body() -> None:
        async with serving(path) as server:
            conn = await connect(server)
            with pytest.raises(FlyfsError) as info:
                await conn.request(read((0, 100)), into=bytearray(10), timeout_s=5)
            assert info.value.code == Code.INVALID_ARGUMENT
            _, view = await conn.request(read((0, 100)), timeout_s=5)
            assert bytes(view) == data[:100]
            conn.close()

    run(body())


def test_timeout_abandons_request_and_connection_survives() -> None:
    async def body() -> None:
        async with serving() as server:
            conn = await connect(server)
            slow = ping(7)  # 7 ms in the toy service
            with pytest.raises(FlyfsError) as info:
                await conn.request(slow, b"late", timeout_s=0.001)
            assert info.value.code == Code.TIMEOUT
            await asyncio.sleep(0.05)  # the late answer arrives and is discarded
            _, view = await conn.request(ping(8), b"ok", timeout_s=5)
            assert bytes(view) == b"ok" and conn.is_open
            conn.close()

    run(body())


@pytest.mark.parametrize("size", [10, 100_000, 4 << 20])
def test_a_scattered_payload_fills_its_buffers_in_order(size: int) -> None:
    """`into=` a function of the response header: the payload fills buffers in order
    (including bytes that arrived with the header); a list that does not add up to the
    payload fails that request and leaves the connection working."""
    payload = os.urandom(size)
    cut = [0, size // 3, size // 3, size // 2, size]  # an empty segment in the middle
    buffers = [bytearray(b - a) for a, b in itertools.pairwise(cut)]

    async def body() -> None:
        async with serving() as server:
            conn = await connect(server)
            seen = []

            def scatter(header):
                seen.append(header.request_id)
                return [memoryview(b) for b in buffers]

            header, filled = await conn.request(ping(0), payload, into=scatter, timeout_s=5)
            raise_for_status(header)
            assert seen == [header.request_id]  # asked once, with the response's header
            assert [f.obj for f in filled] == buffers and b"".join(buffers) == payload
            with pytest.raises(FlyfsError) as short:
                await conn.request(
                    ping(0), payload, into=lambda _: [memoryview(bytearray(size - 1))], timeout_s=5
                )
            assert short.value.code == Code.INTERNAL
            header, view = await conn.request(ping(0), payload, timeout_s=5)
            assert bytes(view) == payload  # the same connection still answers
            conn.close()

    run(body())
