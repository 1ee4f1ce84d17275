"""Talking to storage nodes: batched range reads verified by block checksums, and writes.

Shared by every caller of storage (the client reads and writes, meta
removes chunks and asks for file lengths, storage forwards and resyncs).

A read asks for byte ranges and gets exactly those bytes, with the CRC32C
of every 64 KiB block they touch (and, for blocks covered in part, CRCs of
the unsent parts: `flyfs.checksums`), so every byte is verified here before
the caller sees it: a mismatch is CHECKSUM_MISMATCH, never bad bytes.
Copies per read: 0 in Python.  The response header lists every range's
length before its payload arrives, so each range is received straight
into its own destination (the payload scattered over them in order) and
verified in place.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from flyfs.checksums import crc32c, verify_range
from flyfs.errors import Code, FlyfsError, error
from flyfs.net import ConnectionPool, raise_for_status
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


class StorageClient:
    def __init__(self, pool: ConnectionPool, tagger: RequestTagger | None = None):
        self.pool = pool
        self.tagger = tagger or RequestTagger()

    async def read(
        self, address: Address, ranges: Sequence[RangeRead], committed_on_pending: bool = False
    ) -> list[RangeResult]:
        """Read a batch of ranges from one node in one request.

        `committed_on_pending`: a chunk with a pending version answers its
        committed bytes instead of NOT_COMMITTED (right at a chain's tail,
        whose committed version is the chain's).
        """
        header = data_pb2.RequestHeader()
        header.read.committed_on_pending = committed_on_pending
        for r in ranges:
            header.read.ranges.add(
                chunk_id=r.chunk_id, chain=r.chain, offset=r.offset, length=r.length
            )
        response, _ = await self.pool.request(
            address, header, into=functools.partial(_scatter, ranges)
        )
        return self._place(raise_for_status(response).read.results, ranges)

    @staticmethod
    def _place(
        results: Sequence[data_pb2.ReadResult], ranges: Sequence[RangeRead]
    ) -> list[RangeResult]:
        """Verify every range where it landed; a mismatch is that range's error."""
        if len(results) != len(ranges):
            raise error(Code.INTERNAL, f"{len(results)} results for {len(ranges)} ranges")
        placed = []
        for wanted, result in zip(ranges, results, strict=True):
            if result.status.code:
                code = Code(result.status.code)
                placed.append(RangeResult(error=error(code, result.status.message)))
                continue
            n = result.length
            try:
                verify_range(
                    wanted.dest[:n],
                    result.offset,
                    result.chunk_length,
                    result.block_crc32c,
                    result.head_crc32c,
                    result.tail_crc32c,
                    wanted.chunk_id.hex(),
                )
            except FlyfsError as exc:
                placed.append(RangeResult(error=exc))
                continue
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
        w.payload_crc32c = crc32c(data)
        w.tag.CopyFrom(tag or self.tagger.tag())
        response, _ = await self.pool.request(address, header, data)
        return raise_for_status(response).write

    async def call(
        self,
        address: Address,
        header: data_pb2.RequestHeader,
        payload: bytes | bytearray | memoryview | None = None,
    ) -> data_pb2.ResponseHeader:
        """Any other request, its payload sent as is; the whole-request status is raised."""
        response, _ = await self.pool.request(address, header, payload)
        return raise_for_status(response)


def _scatter(ranges: Sequence[RangeRead], response: data_pb2.ResponseHeader) -> list[memoryview]:
    """Where a read response's payload lands: each served range in its own destination."""
    results = response.read.results
    if len(results) != len(ranges):
        raise error(Code.INTERNAL, f"{len(results)} results for {len(ranges)} ranges")
    dests = []
    for wanted, result in zip(ranges, results, strict=True):
        if result.status.code:
            continue
        if result.length > min(wanted.length, wanted.dest.nbytes):
            raise error(
                Code.INTERNAL, f"{result.length} bytes answered for a {wanted.length}-byte range"
            )
        dests.append(wanted.dest[: result.length])
    return dests
