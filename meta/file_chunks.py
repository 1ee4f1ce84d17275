"""A file's chunks on storage, as meta sees them: remove, cut, measure.

A file's chunk `i` lives on chain `chains[i % stripe]` (`flyfs.layout`), and
all chunks of an inode sort together, so every operation here is one
request per chain of the file, never one per chunk:
- removing a file (the removal queue): every chain drops the inode's whole
  chunk-id range;
- truncating to `length`: every chain drops the range from the first chunk
  past the new end, then the chunk holding the new end is cut (or extended
  with zeros) to its new length.  The cut also runs when truncating up, so
  the file's last chunk always exists with the file's length: a later
  length measurement finds it, and the bytes past the old end read zeros;
- measuring a length: each chain's highest committed chunk of the inode.

How one chain is reached (routing, replicas, retries) is `ChainStorage`'s
business; this module only does the layout arithmetic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from flyfs.errors import Code, error
from flyfs.layout import (
    MAX_INDEX,
    ChainTableSource,
    chain_of_chunk,
    chunk_count,
    chunk_id,
    file_chains,
    inode_chunk_range,
    parse_chunk_id,
)
from flyfs.proto import common_pb2, meta_pb2


class ChainStorage(Protocol):
    """One chain's replicas, reached as a whole (the head forwards to every replica)."""

    async def remove_range(self, chain_id: int, begin: bytes, end: bytes) -> None:
        """Remove every chunk with an id in `[begin, end)` from every replica of the chain."""

    async def cut(self, chain_id: int, cid: bytes, length: int, chunk_size: int) -> None:
        """Make chunk `cid` exactly `length` bytes (cut, or extended with zeros)."""

    async def last_chunks(
        self, queries: Sequence[tuple[int, int]]
    ) -> list[tuple[bytes, int] | None]:
        """Per `(chain_id, inode_id)`: the inode's highest committed chunk there and
        its length, or None when the chain holds none of its chunks."""


def truncate_plan(length: int, chunk_size: int) -> tuple[int, int | None]:
    """`(first chunk index to remove, length of the last kept chunk or None)`.

    A pure function so its edges (0, chunk boundaries, the largest file) are
    tested by a table.
    """
    if length > chunk_size * (MAX_INDEX + 1):
        raise error(Code.INVALID_ARGUMENT, f"length {length} is past the largest file")
    keep = chunk_count(length, chunk_size)
    if keep == 0:
        return 0, None
    return keep, length - (keep - 1) * chunk_size


def length_of(results: Sequence[tuple[bytes, int] | None], chunk_size: int) -> int:
    """A file's length from each chain's last chunk: the furthest chunk end."""
    ends = [parse_chunk_id(cid).index * chunk_size + n for cid, n in filter(None, results)]
    return max(ends, default=0)


class FileChunks:
    def __init__(self, tables: ChainTableSource, storage: ChainStorage):
        self.tables, self.storage = tables, storage

    def chains(self, layout: common_pb2.Layout) -> list[int]:
        """The file's chains in chunk order, from the table version it was created on."""
        if layout.chain_ids:
            return file_chains(layout, ())
        table = self.tables.get(layout.chain_table_id, layout.chain_table_version)
        return file_chains(layout, table.chain_ids)

    async def remove_from(self, inode_id: int, chains: Sequence[int], index: int) -> None:
        """Remove chunks `index` and up of the inode, one range request per chain."""
        if index > MAX_INDEX:
            return
        begin, end = chunk_id(inode_id, index), inode_chunk_range(inode_id)[1]
        await asyncio.gather(*(self.storage.remove_range(c, begin, end) for c in chains))

    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        """The removal queue's remover: every chunk of a retired inode."""
        await self.remove_from(record.inode_id, self.chains(record.layout), 0)

    async def truncate(self, inode: meta_pb2.Inode, length: int) -> None:
        """Make storage hold exactly `length` bytes of the file (see the module doc)."""
        layout, chains = inode.layout, self.chains(inode.layout)
        first_gone, last_length = truncate_plan(length, layout.chunk_size)
        if last_length is None:
            await self.remove_from(inode.id, chains, first_gone)
            return
        last = first_gone - 1
        cut = chunk_id(inode.id, last)
        await asyncio.gather(  # the cut chunk is not among the removed ones: both at once
            self.remove_from(inode.id, chains, first_gone),
            self.storage.cut(
                chain_of_chunk(layout, chains, last), cut, last_length, layout.chunk_size
            ),
        )

    async def length(self, inode: meta_pb2.Inode) -> int:
        """The file's length on storage: the end of its furthest committed chunk."""
        chains = self.chains(inode.layout)
        results = await self.storage.last_chunks([(c, inode.id) for c in chains])
        return length_of(results, inode.layout.chunk_size)
