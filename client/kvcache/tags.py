"""The 64-byte tag stored with every page: its key, a generation and checksums.

A page is trusted only if the tag read with it names the key asked for,
the expected generation (the slab it was written into) and length, and
the CRC32C of the bytes actually read; anything else (a slot reused, a
page half written before a crash, a rotten tag) reads as a miss, never
as another key's K/V.
"""

from __future__ import annotations

import struct

from flyfs.checksums import crc32c

from .keys import KEY_BYTES

TAG_BYTES = 64
_MAGIC = b"FKVT"
_VERSION = 1
_BODY = struct.Struct("<4sHH32sQII")  # magic, version, reserved, key, generation, length, crc
_CRC = struct.Struct("<I")


def encode_tag(key: bytes, generation: int, payload: memoryview | bytes) -> bytes:
    """The tag of `payload` stored under `key` (one CRC32C pass over the payload)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a page key is {KEY_BYTES} bytes, not {len(key)}")
    body = _BODY.pack(_MAGIC, _VERSION, 0, key, generation, len(payload), crc32c(payload))
    tag = body + _CRC.pack(crc32c(body))
    return tag + bytes(TAG_BYTES - len(tag))


def tag_matches(tag: memoryview | bytes, key: bytes, generation: int, payload: memoryview) -> bool:
    """Whether `payload` is the whole page `key` of `generation` that `tag` describes."""
    parsed = _parse(tag)
    return (
        parsed is not None
        and parsed[:3] == (key, generation, len(payload))
        and crc32c(payload) == parsed[3]
    )


def tag_key(tag: memoryview | bytes) -> tuple[bytes, int, int] | None:
    """`(key, generation, length)` of a well-formed tag, None for anything else (zeros)."""
    parsed = _parse(tag)
    return None if parsed is None else parsed[:3]


def _parse(tag: memoryview | bytes) -> tuple[bytes, int, int, int] | None:
    """`(key, generation, length, payload CRC)` if the tag is whole and its own CRC holds."""
    if len(tag) < TAG_BYTES:
        return None
    body = bytes(tag[: _BODY.size])
    (stored_crc,) = _CRC.unpack_from(tag, _BODY.size)
    if crc32c(body) != stored_crc:
        return None
    magic, version, _, key, generation, length, payload_crc = _BODY.unpack(body)
    if magic != _MAGIC or version != _VERSION:
        return None
    return key, generation, length, payload_crc
