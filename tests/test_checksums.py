"""Checking a range against block CRCs when it covers blocks only in part."""

from __future__ import annotations

import os
import random

import pytest

from flyfs.checksums import chain_blocks, crc32c, tail_crc, verify_range
from flyfs.errors import Code, FlyfsError
from flyfs.layout import CHECKSUM_BLOCK as B

CHUNK = os.urandom(3 * B + 1000)  # a short last block too
CRCS = [crc32c(CHUNK[k * B : (k + 1) * B]) for k in range(-(-len(CHUNK) // B))]


def test_crc32c_is_the_iscsi_crc_and_continues_from_a_value():
    # The check value of CRC-32C, and RFC 3720's (iSCSI) test vectors B.4.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    data = os.urandom(100_000)
    assert crc32c(memoryview(data)[40_000:], crc32c(data[:40_000])) == crc32c(data)
    assert crc32c(b"", 12345) == 12345


def sender_view(chunk: bytes, offset: int, end: int) -> tuple[list[int], int, int]:
    """What a storage node sends beside the bytes: block CRCs, head and tail."""
    first, last = offset // B, (end - 1) // B
    stop = min(last * B + B, len(chunk))
    head = crc32c(chunk[first * B : offset])
    return CRCS[first : last + 1], head, tail_crc(chunk[end:stop], end - last * B)


def test_any_range_verifies_and_any_flipped_byte_is_caught():
    rng = random.Random(5)
    for _ in range(500):
        offset = rng.randrange(len(CHUNK))
        end = rng.randrange(offset + 1, len(CHUNK) + 1)
        crcs, head, tail = sender_view(CHUNK, offset, end)
        verify_range(memoryview(CHUNK)[offset:end], offset, len(CHUNK), crcs, head, tail)
        bad = bytearray(CHUNK[offset:end])
        bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        with pytest.raises(FlyfsError) as caught:
            verify_range(memoryview(bad), offset, len(CHUNK), crcs, head, tail)
        assert caught.value.code is Code.CHECKSUM_MISMATCH


def test_corruption_in_the_unsent_part_of_a_block_is_caught():
    on_disk = bytearray(CHUNK)
    on_disk[B + 10] ^= 0xFF  # outside the range below, inside its block
    crcs, head, tail = sender_view(bytes(on_disk), B + 100, B + 200)
    with pytest.raises(FlyfsError):
        verify_range(memoryview(on_disk)[B + 100 : B + 200], B + 100, len(CHUNK), crcs, head, tail)


def test_wrong_number_of_checksums_is_a_mismatch():
    with pytest.raises(FlyfsError) as caught:
        verify_range(memoryview(CHUNK)[: 2 * B], 0, len(CHUNK), CRCS[:1], 0, 0)
    assert caught.value.code is Code.CHECKSUM_MISMATCH


def test_chained_block_crcs_are_the_crc_of_the_blocks_together():
    blocks = [os.urandom(B) for _ in range(5)]
    crcs = [crc32c(b) for b in blocks]
    for n in range(len(blocks) + 1):
        assert chain_blocks(crcs[:n]) == crc32c(b"".join(blocks[:n]))


def test_a_bad_block_inside_a_long_range_is_named():
    """Whole blocks are checked together; a mismatch still says which block fails."""
    chunk = bytearray(os.urandom(64 * B))
    crcs = [crc32c(chunk[k * B : (k + 1) * B]) for k in range(64)]
    verify_range(memoryview(chunk), 0, len(chunk), crcs, 0, 0)
    chunk[37 * B + 5] ^= 0x10
    with pytest.raises(FlyfsError, match="block 37 fails"):
        verify_range(memoryview(chunk), 0, len(chunk), crcs, 0, 0)
    # Blocks are named by their place in the chunk, not in the range.
    chunk[37 * B + 5] ^= 0x10
    chunk[3 * B] ^= 1
    with pytest.raises(FlyfsError, match="block 3 fails"):
        verify_range(memoryview(chunk)[B:], B, len(chunk), crcs[1:], 0, 0)
