"""Talking to storage nodes: batched range reads verified by block checksums, and writes.

Shared by every caller of storage (the client reads and writes, meta
removes chunks and asks for file lengths, storage forwards and resyncs).

A read asks for byte ranges; the node answers whole 64 KiB checksum blocks
(`storage/service.py`), so every byte is verified here against the block
CRC32Cs in the response before the caller sees it: a mismatch is
CHECKSUM_MISMATCH, never bad bytes.  Copies per read: one aligned range
with a destination is received straight into it (0 copies in Python) and
verified in place; otherwise the batch lands in a reused scratch buffer
(0 copies) and each range is copied into its destination (1 copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import crc32c

from flyfs.errors import Code, FlyfsError, error
from flyfs.layout import CHECKSUM_BLOCK, checksum_span
from flyfs.net import BufferPool, ConnectionPool, raise_for_status
from flyfs.proto import common_pb2, data_pb2
from flyfs.request_tags import RequestTagger

Address = tuple[str, int]


@dataclass
class RangeRead:
    chunk_id: bytes
    chain: common_pb2.VersionedChainId
    offset: int
    length: int
    dest: memoryview  # at least `length` bytes


@dataclass
class RangeResult:
    """Bytes placed in `dest` (short at the chunk's end), or why not."""

    length: int = 0
    error: FlyfsError | None = None
    commit_ver: int = 0


def verify_blocks(data: memoryview, result: data_pb2.ReadResult, chunk_id: bytes) -> None:
    """Check every block of `data` (which starts at block `result.offset // BLOCK`)."""
    block = result.checksum_block_size or CHECKSUM_BLOCK
    expected = result.block_crc32c
    count = -(-len(data) // block)
    if count != len(expected):
        raise error(
            Code.CHECKSUM_MISMATCH,
            f"{len(data)} bytes need {count} block checksums, got {len(expected)}",
            chunk_id.hex(),
        )
    for i in range(count):
        if crc32c.crc32c(data[i * block : (i + 1) * block]) != expected[i]:
            first = result.offset // block
            raise error(
                Code.CHECKSUM_MISMATCH,
                f"block {first + i} (v{result.commit_ver}) fails its CRC32C",
                chunk_id.hex(),
            )


class StorageClient:
    def __init__(self, pool: ConnectionPool, tagger: RequestTagger | None = None):
        self.pool = pool
        self.tagger = tagger or RequestTagger()
        self.buffers = BufferPool()

    async def read(self, address: Address, ranges: Sequence[RangeRead]) -> list[RangeResult]:
        """Read a batch of ranges from one node in one request."""
        header = data_pb2.RequestHeader()
        spans = [checksum_span(r.offset, r.length) for r in ranges]
        for r, (start, size) in zip(ranges, spans, strict=True):
            header.read.ranges.add(chunk_id=r.chunk_id, chain=r.chain, offset=start, length=size)
        direct = (
            len(ranges) == 1
            and spans[0] == (ranges[0].offset, ranges[0].length)
            and len(ranges[0].dest) >= ranges[0].length
        )
        if direct:
            response, payload = await self.pool.request(address, header, into=ranges[0].dest)
            return self._place(raise_for_status(response).read.results, payload, ranges, True)
        scratch = self.buffers.acquire(sum(size for _, size in spans))
        try:
            response, payload = await self.pool.request(address, header, into=scratch)
            return self._place(raise_for_status(response).read.results, payload, ranges, False)
        finally:
            self.buffers.release(scratch)

    @staticmethod
    def _place(
        results: Sequence[data_pb2.ReadResult],
        payload: memoryview,
        ranges: Sequence[RangeRead],
        in_place: bool,
    ) -> list[RangeResult]:
        if len(results) != len(ranges):
            raise error(Code.INTERNAL, f"{len(results)} results for {len(ranges)} ranges")
        placed = []
        at = 0
        for wanted, result in zip(ranges, results, strict=True):
            if result.status.code:
                code = Code(result.status.code)
                placed.append(RangeResult(error=error(code, result.status.message)))
                continue
            data = payload[at : at + result.length]
            at += result.length
            try:
                verify_blocks(data, result, wanted.chunk_id)
            except FlyfsError as exc:
                placed.append(RangeResult(error=exc))
                continue
            skip = wanted.offset - result.offset
            n = max(0, min(wanted.length, result.length - skip))
            if not in_place:
                wanted.dest[:n] = data[skip : skip + n]
            placed.append(RangeResult(length=n, commit_ver=result.commit_ver))
        return placed

    async def write(
        self,
        address: Address,
        chunk_id: bytes,
        chain: common_pb2.VersionedChainId,
        offset: int,
        data: bytes | bytearray | memoryview,
        *,
        chunk_size: int,
        tag: common_pb2.RequestTag | None = None,
    ) -> data_pb2.WriteResponse:
        """Write `data` at `offset` of a chunk through the chain's head (0 copies in Python)."""
        header = data_pb2.RequestHeader()
        w = header.write
        w.chunk_id, w.offset, w.length, w.chunk_size = chunk_id, offset, len(data), chunk_size
        w.chain.CopyFrom(chain)
        w.payload_crc32c = crc32c.crc32c(data)
        w.tag.CopyFrom(tag or self.tagger.tag())
        response, _ = await self.pool.request(address, header, data)
        return raise_for_status(response).write

    async def call(
        self, address: Address, header: data_pb2.RequestHeader
    ) -> data_pb2.ResponseHeader:
        """Any other request without a payload; the whole-request status is raised."""
        response, _ = await self.pool.request(address, header)
        return raise_for_status(response)
