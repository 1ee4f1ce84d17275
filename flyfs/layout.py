"""Where a file's bytes live: chunk ids, the chains of a file, chunk pieces.

meta fixes a file's layout at create, storage keys chunks by id and the
client routes every read and write through the same arithmetic, so all of it
lives here, in the shared package, and imports none of those services.

A layout (`flyfs.proto.common_pb2.Layout`) never names its chains directly
unless an admin pinned them: it names a chain table version, a base index
into it and a shuffle seed.  Every process turns that into the same chain
list with :func:`file_chains`, which is why the shuffle is flyfs's own,
specified to the bit, rather than :mod:`random`'s (whose algorithm has
changed between Python versions: a changed shuffle would move every file's
chunks to chains that do not hold them).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import common_pb2

MIN_CHUNK_SIZE = 64 << 10
MAX_CHUNK_SIZE = 64 << 20
DEFAULT_CHUNK_SIZE = 4 << 20
# Chains a file spreads over when its creator does not say (capped by the
# table): enough parallelism for one reader of a large file, while small
# files still touch few chains.
DEFAULT_STRIPE = 4

CHUNK_ID_SIZE = 16
MAX_INODE = (1 << 64) - 1
MAX_TRACK = (1 << 16) - 1
MAX_INDEX = (1 << 32) - 1
_U32_MAX = (1 << 32) - 1
_U64_MASK = (1 << 64) - 1

# inode, track, index, reserved; big-endian so byte order is numeric order.
_CHUNK_ID = struct.Struct(">QHIH")

T = TypeVar("T")


def _invalid(message: str) -> FlyfsError:
    return error(Code.INVALID_ARGUMENT, message)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise _invalid(f"{name} {value} is outside [{low}, {high}]")


# --- chunk ids ---------------------------------------------------------------


class ChunkId(NamedTuple):
    """A parsed chunk id; tuple order is the id's byte order."""

    inode: int
    track: int
    index: int


def chunk_id(inode: int, index: int, track: int = 0) -> bytes:
    """The 16-byte id of chunk `index` of `inode`: inode, track, index, reserved.

    The inode leads so that all of a file's chunks form one contiguous key
    range (removal and length queries scan it); `track` leaves room for more
    than one stream of chunks per file without changing the format.
    """
    _check_range("inode", inode, 0, MAX_INODE)
    _check_range("track", track, 0, MAX_TRACK)
    _check_range("chunk index", index, 0, MAX_INDEX)
    return _CHUNK_ID.pack(inode, track, index, 0)


def parse_chunk_id(cid: bytes) -> ChunkId:
    """The parts of a chunk id from the wire; refuses anything we never built.

    Nonzero reserved bytes are refused rather than ignored, so two different
    byte strings never name the same chunk.
    """
    if len(cid) != CHUNK_ID_SIZE:
        raise _invalid(f"chunk id is {len(cid)} bytes, not {CHUNK_ID_SIZE}")
    inode, track, index, reserved = _CHUNK_ID.unpack(cid)
    if reserved:
        raise _invalid(f"chunk id {bytes(cid).hex()} has nonzero reserved bytes")
    return ChunkId(inode, track, index)


def inode_chunk_range(inode: int) -> tuple[bytes, bytes]:
    """Half-open `[begin, end)` bounds holding exactly the chunk ids of `inode`.

    Both bounds are 16 bytes like the ids, so a store that keys chunks under
    its own prefix can prepend it to both and still scan one range.
    """
    _check_range("inode", inode, 0, MAX_INODE)
    head = inode.to_bytes(8, "big")
    return head + bytes(8), head + b"\xff" * 8


# --- the shuffle -------------------------------------------------------------


def splitmix64(seed: int) -> Iterator[int]:
    """Sebastiano Vigna's splitmix64: an endless stream of 64-bit values.

    Chosen because it is tiny, fully specified and has published test
    vectors, so another implementation can check itself against ours::

        state = seed
        next: state = (state + 0x9E3779B97F4A7C15) mod 2**64
              z = state
              z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) mod 2**64
              z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) mod 2**64
              yield z ^ (z >> 31)
    """
    _check_range("seed", seed, 0, _U64_MASK)
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & _U64_MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64_MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64_MASK
        yield z ^ (z >> 31)


def shuffle(items: Sequence[T], seed: int) -> list[T]:
    """`items` permuted by flyfs's placement shuffle; `items` is left alone.

    Fisher-Yates from the end, drawing from :func:`splitmix64` (`seed` in
    `[0, 2**64)`)::

        out = list(items); draws = splitmix64(seed)
        for i from len(out) - 1 down to 1:
            j = next(draws) mod (i + 1)
            swap out[i], out[j]

    The modulo's bias, at most `(i + 1) / 2**64`, is far below anything a
    placement could notice, and keeps the rule simple to reproduce.  This is
    part of the on-disk format: a test pins its output for fixed seeds.
    """
    out = list(items)
    draws = splitmix64(seed)
    for i in range(len(out) - 1, 0, -1):
        j = next(draws) % (i + 1)
        out[i], out[j] = out[j], out[i]
    return out


# --- chain tables ------------------------------------------------------------


@dataclass(frozen=True)
class ChainTable:
    """One version of a chain table: what a layout's `chain_base` indexes.

    Ids and version are at least 1 because 0 means "none" on the wire (a
    layout with pinned `chain_ids` has table id 0; a target not yet in a
    chain has chain id 0).  Chain ids are unique so no chain carries a double
    share of the files placed on the table.
    """

    table_id: int
    version: int
    chain_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain_ids", tuple(self.chain_ids))
        _check_range("chain table id", self.table_id, 1, _U32_MAX)
        _check_range("chain table version", self.version, 1, _U32_MAX)
        for chain in self.chain_ids:
            _check_range("chain id", chain, 1, _U32_MAX)
        if len(set(self.chain_ids)) != len(self.chain_ids):
            raise _invalid(f"chain table {self.name} lists a chain twice")

    @property
    def name(self) -> str:
        return f"{self.table_id} v{self.version}"


class ChainTableSource(Protocol):
    """Where meta, storage and the client get chain tables from.

    `current` is what new files are placed on; `get` resolves the version a
    file pinned at create, so growing the table never moves existing chunks.
    """

    def current(self) -> ChainTable: ...

    def get(self, table_id: int, version: int) -> ChainTable: ...


class StaticChainTable:
    """A chain table fixed by config, until mgmtd publishes real ones (issue 6).

    It knows one table version; asking for another is CHAIN_UNAVAILABLE
    (mgmtd's source will know every version it ever published).
    """

    def __init__(self, chain_ids: Sequence[int], table_id: int = 1, version: int = 1) -> None:
        self._table = ChainTable(table_id, version, tuple(chain_ids))

    def current(self) -> ChainTable:
        return self._table

    def get(self, table_id: int, version: int) -> ChainTable:
        if (table_id, version) != (self._table.table_id, self._table.version):
            raise error(
                Code.CHAIN_UNAVAILABLE,
                f"chain table {table_id} v{version} is unknown "
                f"(this static source has {self._table.name})",
            )
        return self._table


# --- layouts -----------------------------------------------------------------


def check_chunk_size(chunk_size: int) -> None:
    """Refuse a chunk size outside the powers of two in [64 KiB, 64 MiB].

    Powers of two keep offset → chunk arithmetic exact and chunks aligned
    with storage's 64 KiB checksum blocks.
    """
    if chunk_size <= 0 or chunk_size & (chunk_size - 1):
        raise _invalid(f"chunk_size {chunk_size} is not a power of two")
    _check_range("chunk_size", chunk_size, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE)


def new_layout(
    table: ChainTable,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    stripe: int = 0,
    rng: random.Random,
) -> common_pb2.Layout:
    """A layout for a new file on `table`.

    `stripe` 0 means `min(DEFAULT_STRIPE, chains in the table)`, so a small
    table still works without configuration.  The base is drawn uniformly
    from the table, which spreads files evenly over every chain; the seed
    varies which chain a file's first chunk lands on.  `rng` is passed in so
    tests can make placement reproducible.
    """
    check_chunk_size(chunk_size)
    size = len(table.chain_ids)
    if size == 0:
        raise error(Code.CHAIN_UNAVAILABLE, f"chain table {table.name} has no chains")
    if stripe == 0:
        stripe = min(DEFAULT_STRIPE, size)
    elif not 1 <= stripe <= size:
        raise _invalid(f"stripe {stripe} is outside [1, {size}] (chain table {table.name})")
    return common_pb2.Layout(
        chunk_size=chunk_size,
        stripe=stripe,
        chain_table_id=table.table_id,
        chain_table_version=table.version,
        chain_base=rng.randrange(size),
        shuffle_seed=rng.getrandbits(64),
    )


def file_chains(layout: common_pb2.Layout, table: Sequence[int]) -> list[int]:
    """The chains of a file, in chunk order: chunk i lives on `chains[i % stripe]`.

    Pinned `layout.chain_ids` win.  Otherwise `table` must be the chain ids
    of the table version the layout names; the file takes `stripe`
    consecutive chains from `chain_base` (wrapping around) and permutes them
    with :func:`shuffle` seeded by `shuffle_seed`.
    """
    if layout.chain_ids:
        if layout.stripe != len(layout.chain_ids):
            raise _invalid(
                f"layout stripe {layout.stripe} but {len(layout.chain_ids)} pinned chain ids"
            )
        return list(layout.chain_ids)
    size = len(table)
    if not 1 <= layout.stripe <= size:
        raise _invalid(f"layout stripe {layout.stripe} is outside [1, {size}] of its chain table")
    if layout.chain_base >= size:
        raise _invalid(f"layout chain_base {layout.chain_base} is past its {size}-chain table")
    picked = [table[(layout.chain_base + k) % size] for k in range(layout.stripe)]
    return shuffle(picked, layout.shuffle_seed)


def chain_of_chunk(layout: common_pb2.Layout, chains: Sequence[int], index: int) -> int:
    """The chain holding chunk `index`; `chains` from :func:`file_chains`."""
    _check_range("chunk index", index, 0, MAX_INDEX)
    return chains[index % layout.stripe]


class ChunkPiece(NamedTuple):
    """The part of a byte range that falls in one chunk."""

    index: int  # chunk index within the file
    offset: int  # offset within the chunk
    length: int


def chunk_count(length: int, chunk_size: int) -> int:
    """How many chunks hold a file of `length` bytes (the last may be short)."""
    if length < 0:
        raise _invalid(f"length {length} is negative")
    check_chunk_size(chunk_size)
    return -(-length // chunk_size)


def chunk_range(layout: common_pb2.Layout, offset: int, length: int) -> Iterator[ChunkPiece]:
    """Split the file bytes `[offset, offset + length)` into per-chunk pieces.

    Pieces come in file order, cover the range exactly, and a piece's
    position in the caller's buffer is `index * chunk_size + piece.offset -
    offset`.  Arguments are checked now, not when iteration starts, so a bad
    request fails where it is made.
    """
    chunk_size = layout.chunk_size
    check_chunk_size(chunk_size)
    if offset < 0 or length < 0:
        raise _invalid(f"byte range ({offset}, {length}) has a negative offset or length")
    end = offset + length
    limit = chunk_size * (MAX_INDEX + 1)
    if end > limit:
        raise _invalid(f"byte range ends at {end}, past the largest file ({limit} bytes)")
    return _pieces(chunk_size, offset, end)


def _pieces(chunk_size: int, pos: int, end: int) -> Iterator[ChunkPiece]:
    while pos < end:
        index, within = divmod(pos, chunk_size)
        take = min(chunk_size - within, end - pos)
        yield ChunkPiece(index, within, take)
        pos += take


# Chunk content is checksummed per block of this size (CRC32C), so a range
# read needs only the blocks it covers and the receiver can verify them.
CHECKSUM_BLOCK = 64 << 10
