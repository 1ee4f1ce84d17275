"""Block checksums: CRC32C per 64 KiB block of a chunk.

Per-block rather than per-chunk so that a range read needs only the blocks
it covers (it can go out by `sendfile` with those CRCs in the response
header and be verified by the receiver), and a partial write recomputes
only the blocks it touches.  Block `k` of a chunk of `length` bytes is
`[k * BLOCK, min((k + 1) * BLOCK, length))`: the last block may be short.

Every block CRC in the engine goes through :func:`block_crc`, so a test can
count the calls and prove a partial write recomputes 1-2 blocks, not 64.
"""

from __future__ import annotations

from collections.abc import Sequence

from flyfs.checksums import crc32c
from flyfs.layout import CHECKSUM_BLOCK

BLOCK = CHECKSUM_BLOCK


def block_crc(data: bytes | bytearray | memoryview) -> int:
    """The CRC of one block's bytes (the one hook for counting recomputations)."""
    return crc32c(data)


def block_count(length: int) -> int:
    return -(-length // BLOCK)


def blocks_of(offset: int, length: int) -> range:
    """Indexes of the blocks that the byte range `[offset, offset + length)` touches."""
    if length <= 0:
        return range(0)
    return range(offset // BLOCK, (offset + length - 1) // BLOCK + 1)


def block_span(index: int, chunk_length: int) -> tuple[int, int]:
    """`(start, end)` of block `index` of a chunk of `chunk_length` bytes."""
    start = index * BLOCK
    return start, min(start + BLOCK, chunk_length)


def bad_blocks(
    data: bytes | bytearray | memoryview,
    first_block: int,
    crcs: Sequence[int],
    chunk_length: int,
) -> list[int]:
    """Indexes of the blocks in `data` whose CRC is not the expected one.

    `data` holds whole blocks starting at block `first_block` (the last may
    be the chunk's short last block); `crcs[i]` is block `first_block + i`.
    """
    view = memoryview(data)
    bad: list[int] = []
    pos = 0
    for i, expected in enumerate(crcs):
        start, end = block_span(first_block + i, chunk_length)
        size = end - start
        if block_crc(view[pos : pos + size]) != expected:
            bad.append(first_block + i)
        pos += size
    return bad
