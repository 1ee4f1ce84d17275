"""Forwards to a chain successor: updates as data-plane requests, from one event loop.

The data plane serves from several event loops (flyfs.net.server); a
connection pool belongs to one loop, so every forward runs on the loop that
started the node, whichever loop's request asked for it (one thread hop),
and the node keeps one pool of connections to each successor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

from flyfs.checksums import crc32c
from flyfs.net import ConnectionPool
from flyfs.proto import common_pb2, data_pb2
from flyfs.storage_client import RangeRead, RangeResult, StorageClient

from .craq import Outcome, Update

Address = tuple[str, int]
T = TypeVar("T")


def update_request(update: Update, chain_id: int) -> tuple[data_pb2.RequestHeader, memoryview]:
    """The request that carries `update` to a successor (0 copies: the payload is a view)."""
    header = data_pb2.RequestHeader()
    chain = common_pb2.VersionedChainId(chain_id=chain_id, chain_version=update.chain_version)
    tag = common_pb2.RequestTag(
        client_id=update.client_id, sequence=update.sequence, attempt=int(update.retry)
    )
    if update.kind == "truncate":
        t = header.truncate
        t.chunk_id, t.length, t.chunk_size = update.chunk_id, update.length, update.chunk_size
        t.update_ver, t.from_target_id = update.update_ver, update.from_target
        t.chain.CopyFrom(chain)
        t.tag.CopyFrom(tag)
        return header, memoryview(b"")
    w = header.write
    w.chunk_id, w.offset, w.length = update.chunk_id, update.offset, len(update.data)
    w.chunk_size, w.update_ver, w.from_target_id = (
        update.chunk_size,
        update.update_ver,
        update.from_target,
    )
    w.full_chunk_replace = update.full_chunk_replace
    w.payload_crc32c = crc32c(update.data) if update.payload_crc is None else update.payload_crc
    w.chain.CopyFrom(chain)
    w.tag.CopyFrom(tag)
    return header, update.data


class Forwarder:
    def __init__(self, pool: ConnectionPool) -> None:
        self._client = StorageClient(pool)
        self._loop = asyncio.get_running_loop()

    async def send(self, address: Address, update: Update, chain_id: int) -> Outcome:
        header, payload = update_request(update, chain_id)
        response = await self.call(address, header, payload)
        body = response.truncate if update.kind == "truncate" else response.write
        return Outcome(body.update_ver, body.commit_ver, body.chunk_length, body.duplicate)

    async def call(
        self, address: Address, header: data_pb2.RequestHeader, payload: memoryview | None = None
    ) -> data_pb2.ResponseHeader:
        """`header` to `address` on the forwarding loop; the status is raised as FlyfsError."""
        return await self._on_loop(self._client.call(address, header, payload))

    async def read(self, address: Address, ranges: list[RangeRead]) -> list[RangeResult]:
        """Verified ranges from another node (repairs), on the forwarding loop."""
        return await self._on_loop(self._client.read(address, ranges))

    async def _on_loop(self, job: Coroutine[object, object, T]) -> T:
        if asyncio.get_running_loop() is self._loop:
            return await job
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(job, self._loop))

    async def close(self) -> None:
        await self._client.pool.close()
