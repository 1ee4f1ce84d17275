"""The sendfile path and the forced pread fallback send identical bytes."""

from __future__ import annotations

import asyncio

import pytest
from net_toy import CLUSTER, read, run, serving

from flyfs.net import NO_SENDFILE_ENV, Connection, identity

RANGES = [(0, 0), (0, 1), (3, 65535), (65536, 65536), (100, 4 << 20), ((8 << 20) - 7, 7)]


async def fetch(server, ranges) -> bytes:
    conn = await Connection.open("127.0.0.1", server.port, identity(CLUSTER), timeout_s=5)
    try:
        total = sum(length for _, length in ranges)
        into = bytearray(total)
        header, view = await conn.request(read(*ranges), into=into, timeout_s=10)
        assert [r.length for r in header.read.results] == [length for _, length in ranges]
        return bytes(view)
    finally:
        conn.close()


@pytest.mark.parametrize("forced", [False, True])
def test_env_switch(forced: bool, monkeypatch, data_file) -> None:
    if forced:
        monkeypatch.setenv(NO_SENDFILE_ENV, "1")
    else:
        monkeypatch.delenv(NO_SENDFILE_ENV, raising=False)
    path, data = data_file

    async def body() -> None:
        async with serving(path) as server:
            assert server.use_sendfile is not forced
            got = await fetch(server, RANGES)
            assert got == b"".join(data[o : o + n] for o, n in RANGES)

    run(body())


def test_sendfile_and_fallback_identical_under_concurrency(data_file) -> None:
    path, data = data_file

    async def body() -> None:
        async with serving(path, sendfile=True) as fast, serving(path, sendfile=False) as slow:
            batches = [RANGES, RANGES[::-1], [(i * 65536, 65536) for i in range(64)]]
            fast_got = await asyncio.gather(*(fetch(fast, b) for b in batches))
            slow_got = await asyncio.gather(*(fetch(slow, b) for b in batches))
            assert fast_got == slow_got
            assert fast_got[2] == data[: 64 * 65536]

    run(body())


def test_sendfile_really_used_and_waits_for_the_socket(monkeypatch, data_file) -> None:
    """os.sendfile moves the bytes, and a full socket (EAGAIN) is waited out via add_writer."""
    import os

    path, data = data_file
    calls = {"sendfile": 0, "eagain": 0}
    real = os.sendfile

    def counting(out_fd, in_fd, offset, count):
        calls["sendfile"] += 1
        try:
            return real(out_fd, in_fd, offset, count)
        except BlockingIOError:
            calls["eagain"] += 1
            raise

    monkeypatch.setattr(os, "sendfile", counting)

    async def body() -> None:
        async with serving(path, sendfile=True) as server:
            got = await fetch(server, [(0, 8 << 20)])
            assert got == data

    run(body())
    assert calls["sendfile"] >= 1
    assert calls["eagain"] >= 1  # 8 MiB exceeds loopback socket buffers
