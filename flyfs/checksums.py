"""Block checksums of chunk content, and checking a range that covers blocks only in part.

Chunks are checksummed per 64 KiB block (CRC32C).  A read sends exactly the
bytes asked for; for a block the range covers only in part, the sender adds
two CRCs computed from the bytes it did not send, and the receiver still
checks the whole block: CRC32C is affine, so for equal-length A and B,
crc(A ^ B) = crc(A) ^ crc(B) ^ crc(zeros).  With X the block's bytes up to
the end of the range and S the rest:

    crc(X + S) = crc(X + zeros(|S|)) ^ crc(zeros(|X|) + S) ^ crc(zeros(|X| + |S|))

The sender gives `head` = crc(bytes before the range) to continue X from,
and `tail` = crc(zeros(|X|) + S); the zero CRCs cost the receiver a pass
over a shared zero buffer (~3 µs per 64 KiB).

Every CRC32C in flyfs is :func:`crc32c` here.  It is `fastcrc`'s (CRC-32/
iSCSI, the same polynomial and check value), which folds with carry-less
multiplication: 22 GB/s over data not in cache on the 2-core VM, against
14 GB/s for the `crc32c` package, and a reader verifies every byte it
receives, so this is a sixth to a fifth of a client's time on a
sequential read.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastcrc import crc32

from flyfs.errors import Code, error
from flyfs.layout import CHECKSUM_BLOCK

_ZEROS = memoryview(bytes(CHECKSUM_BLOCK))


def crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC32C of `data`, continuing from `value` (the CRC of the bytes before it)."""
    return crc32.iscsi(data, value)


def zeros_crc(length: int) -> int:
    return _BLOCK_ZEROS_CRC if length == CHECKSUM_BLOCK else crc32c(_ZEROS[:length])


# Every block but a chunk's last is whole: its zero CRC is this constant.
_BLOCK_ZEROS_CRC = crc32c(_ZEROS)


def tail_crc(after: bytes | memoryview, before: int) -> int:
    """crc(zeros(before) + after): the sender's `tail` for a block cut at `before`."""
    return crc32c(after, zeros_crc(before)) if after else 0


def verify_range(
    data: memoryview,
    offset: int,
    chunk_length: int,
    block_crcs: Sequence[int],
    head: int,
    tail: int,
    what: str = "",
) -> None:
    """Check `data` (chunk bytes from `offset`) against the CRCs of every block it touches.

    The whole blocks inside the range are checked with one CRC call over all
    of them, against their CRCs chained (:func:`chain_blocks`).  A call per
    64 KiB block cost as much again in interpreter time, and `fastcrc`
    releases the GIL per call: on a busy client each release is a chance to
    wait for another thread to hand the GIL back, 4,096 times per 256 MiB.
    """
    if not data:
        return
    end = offset + len(data)
    first, last = offset // CHECKSUM_BLOCK, (end - 1) // CHECKSUM_BLOCK
    if last - first + 1 != len(block_crcs):
        raise error(
            Code.CHECKSUM_MISMATCH,
            f"{last - first + 1} blocks but {len(block_crcs)} checksums",
            what,
        )
    # Blocks that lie wholly inside the range and are full-size (a chunk's
    # last block may be short; the range never passes the chunk's length).
    whole = range(-(-offset // CHECKSUM_BLOCK), end // CHECKSUM_BLOCK)
    suspects = [k for k in (first, last) if k not in whole]
    if whole:
        run = data[whole.start * CHECKSUM_BLOCK - offset : whole.stop * CHECKSUM_BLOCK - offset]
        if crc32c(run) != chain_blocks(block_crcs[whole.start - first : whole.stop - first]):
            suspects.extend(whole)  # one by one, to name the block that fails
    for k in sorted(set(suspects)):  # the first bad block is the one named
        start = k * CHECKSUM_BLOCK
        stop = min(start + CHECKSUM_BLOCK, chunk_length)
        lo, hi = max(offset, start), min(end, stop)
        crc = crc32c(data[lo - offset : hi - offset], head if lo > start else 0)
        if hi < stop:
            rest = stop - hi
            crc = crc32c(_ZEROS[:rest], crc) ^ tail ^ zeros_crc(hi - start + rest)
        if crc != block_crcs[k - first]:
            raise error(Code.CHECKSUM_MISMATCH, f"block {k} fails its CRC32C", what)


def _shift_tables(length: int) -> tuple[tuple[int, ...], ...]:
    """Byte tables of v -> crc32c(zeros(length), v) ^ crc32c(zeros(length)).

    Continuing a CRC over `length` bytes is affine in the value continued
    from, and its linear part depends on the length alone, so
    crc(A + B) = shift(crc(A)) ^ crc(B) for every B of that length.  The
    map is linear over GF(2): 32 basis images, then one table per byte.
    """
    zeros = _ZEROS[:length]
    base = crc32c(zeros)
    images = [crc32c(zeros, 1 << bit) ^ base for bit in range(32)]
    tables = []
    for byte in range(4):
        table = [0] * 256
        for b in range(1, 256):
            low = b & -b
            table[b] = table[b ^ low] ^ images[8 * byte + low.bit_length() - 1]
        tables.append(tuple(table))
    return tuple(tables)


_SHIFT_BLOCK = _shift_tables(CHECKSUM_BLOCK)


def chain_blocks(block_crcs: Sequence[int]) -> int:
    """The CRC32C of consecutive whole blocks, from the CRC of each."""
    t0, t1, t2, t3 = _SHIFT_BLOCK
    crc = 0
    for block in block_crcs:
        crc = t0[crc & 255] ^ t1[crc >> 8 & 255] ^ t2[crc >> 16 & 255] ^ t3[crc >> 24] ^ block
    return crc
