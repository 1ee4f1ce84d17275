"""A toy data-plane service for the transport tests: echo, and file regions by range.

`ping` echoes its payload (delayed by `sent_monotonic_ns % 8` ms, so
pipelined responses come back out of order); `read` answers each range with
a FileRegion of the server's file; `commit` never answers (for disconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import uvloop

from flyfs.net import DataServer, FileRegion, Peer, Reply
from flyfs.proto import data_pb2

CLUSTER = "test-cluster"
TEST_TIMEOUT_S = 20.0


def run(coro, timeout_s: float = TEST_TIMEOUT_S):
    """Drive `coro` on a fresh uvloop, failing (not hanging) after `timeout_s`."""

    async def bounded():
        async with asyncio.timeout(timeout_s):
            return await coro

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(bounded())


class ToyService:
    def __init__(self, fd: int = -1) -> None:
        self.fd = fd
        self.seen = 0

    async def __call__(self, peer: Peer, header: data_pb2.RequestHeader, payload: memoryview):
        self.seen += 1
        kind = header.WhichOneof("body")
        if kind == "ping":
            await asyncio.sleep((header.ping.sent_monotonic_ns % 8) / 1000)
            answer = data_pb2.ResponseHeader()
            answer.ping.sent_monotonic_ns = header.ping.sent_monotonic_ns
            return Reply(answer, [payload])  # 0 copies: the pooled receive buffer goes back out
        if kind == "read":
            answer = data_pb2.ResponseHeader()
            parts = []
            for rng in header.read.ranges:
                answer.read.results.add(offset=rng.offset, length=rng.length)
                parts.append(FileRegion(self.fd, rng.offset, rng.length))
            return Reply(answer, parts)
        if kind == "commit":
            await asyncio.sleep(3600)
        raise NotImplementedError(kind)


def ping(tag: int = 0) -> data_pb2.RequestHeader:
    return data_pb2.RequestHeader(ping=data_pb2.PingRequest(sent_monotonic_ns=tag))


def read(*ranges: tuple[int, int]) -> data_pb2.RequestHeader:
    header = data_pb2.RequestHeader()
    for offset, length in ranges:
        header.read.ranges.add(chunk_id=bytes(16), offset=offset, length=length)
    return header


@contextlib.asynccontextmanager
async def serving(path: str | None = None, **kwargs) -> AsyncIterator[DataServer]:
    """A DataServer with the toy service on 127.0.0.1, port 0; `path` is the file it reads."""
    fd = os.open(path, os.O_RDONLY) if path else -1
    server = DataServer(ToyService(fd), kwargs.pop("cluster_id", CLUSTER), 7, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.close(grace_s=2.0)
        if fd >= 0:
            os.close(fd)
