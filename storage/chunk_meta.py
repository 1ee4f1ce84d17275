"""Chunk metadata: what one stored version records, and its on-disk encoding.

A chunk file holds exactly one version of a chunk: a fixed header, this
metadata, then the data at a 4 KiB-aligned offset.  Header and metadata
each carry a CRC32C, so a file that is not exactly what the engine wrote
is recognised when the target is opened.  The data offset depends only on
the chunk size (room for the largest metadata the engine can produce), so
the data can be written before the metadata is final.

Whether a version is committed or pending is not in the file: it is which
name the file has (see :mod:`flyfs.storage.chunk_store`), so that commit
is one rename and never rewrites a byte.

:class:`ChunkInfo` is the public view of a chunk (committed and pending
versions together); it maps onto `flyfs.data.ChunkMeta`.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flyfs.checksums import crc32c
from flyfs.errors import Code, error
from flyfs.proto import data_pb2

from . import checksums
from .checksums import BLOCK

CLIENT_ID_SIZE = 16
NO_CLIENT = bytes(CLIENT_ID_SIZE)
# Clients remembered per chunk (highest applied sequence each); older ones
# are evicted, and a retry from an evicted client answers RETRY_UNKNOWN.
MAX_CLIENTS = 64

MAGIC = b"FLYCHUNK"
FORMAT = 1
PAGE = 4096
# magic, format, reserved, meta_len, meta_crc, data_offset, header_crc
_HEADER = struct.Struct(">8sHHIIII")
HEADER_SIZE = 32
# version, chain_ver, length, chunk_size, writer client/sequence/payload crc,
# evicted, block count, client count
_FIXED = struct.Struct(">QIII16sQIQII")
_CLIENT = struct.Struct(">16sQ")
_CRC = struct.Struct(">I")


def check_client_id(client_id: bytes) -> bytes:
    """16 bytes, or empty for writes nobody will retry (stored as zeros)."""
    if not client_id:
        return NO_CLIENT
    if len(client_id) != CLIENT_ID_SIZE:
        raise error(Code.INVALID_ARGUMENT, f"client id is {len(client_id)} bytes, not 16")
    return bytes(client_id)


@dataclass(frozen=True)
class Writer:
    """Who wrote a version and the CRC of its payload: a duplicate's identity."""

    client_id: bytes = NO_CLIENT
    sequence: int = 0
    payload_crc: int = 0


@dataclass(frozen=True)
class ChunkVersion:
    """One stored version of a chunk (one chunk file)."""

    version: int
    chain_ver: int
    length: int
    chunk_size: int
    writer: Writer
    # client id -> highest applied sequence, least recently updated first.
    clients: tuple[tuple[bytes, int], ...]
    evicted: int  # entries ever evicted from `clients` (inherited by later versions)
    block_crcs: tuple[int, ...]

    def sequence_of(self, client_id: bytes) -> int | None:
        for cid, seq in self.clients:
            if cid == client_id:
                return seq
        return None

    def with_client(self, client_id: bytes, sequence: int, limit: int) -> tuple[tuple, int]:
        """`(clients, evicted)` after recording `sequence` for `client_id` (LRU-evicting)."""
        order: OrderedDict[bytes, int] = OrderedDict(self.clients)
        evicted = self.evicted
        if client_id != NO_CLIENT:
            order[client_id] = max(sequence, order.get(client_id, 0))
            order.move_to_end(client_id)
            while len(order) > limit:
                order.popitem(last=False)
                evicted += 1
        return tuple(order.items()), evicted


def data_offset(chunk_size: int) -> int:
    """Where the data starts in a chunk file: past the largest possible metadata."""
    largest = (
        HEADER_SIZE
        + _FIXED.size
        + 4 * checksums.block_count(chunk_size)
        + _CLIENT.size * MAX_CLIENTS
    )
    return -(-largest // PAGE) * PAGE


def encode(v: ChunkVersion) -> bytes:
    """Header + metadata of a chunk file (the data follows at `data_offset`)."""
    meta = b"".join(
        [
            _FIXED.pack(
                v.version,
                v.chain_ver,
                v.length,
                v.chunk_size,
                v.writer.client_id,
                v.writer.sequence,
                v.writer.payload_crc,
                v.evicted,
                len(v.block_crcs),
                len(v.clients),
            ),
            struct.pack(f">{len(v.block_crcs)}I", *v.block_crcs),
            b"".join(_CLIENT.pack(cid, seq) for cid, seq in v.clients),
        ]
    )
    offset = data_offset(v.chunk_size)
    if HEADER_SIZE + len(meta) > offset:
        raise error(Code.INTERNAL, "chunk metadata larger than its reserved space")
    head = _HEADER.pack(MAGIC, FORMAT, 0, len(meta), crc32c(meta), offset, 0)
    head = head[:-4] + _CRC.pack(crc32c(head[:-4]))
    return head.ljust(HEADER_SIZE, b"\0") + meta


class CorruptChunkFile(ValueError):
    """A chunk file whose header or metadata does not verify."""


def decode(raw: bytes) -> tuple[ChunkVersion, int]:
    """`(version, data_offset)` from the first bytes of a chunk file.

    `raw` must hold at least the header and metadata (reading `PAGE` bytes,
    or `data_offset(chunk_size)` for huge chunks, is enough).
    """
    if len(raw) < HEADER_SIZE:
        raise CorruptChunkFile("short header")
    magic, fmt, _, meta_len, meta_crc, offset, head_crc = _HEADER.unpack_from(raw)
    if magic != MAGIC or crc32c(raw[: _HEADER.size - 4]) != head_crc:
        raise CorruptChunkFile("bad header")
    if fmt != FORMAT:
        raise CorruptChunkFile(f"unknown format {fmt}")
    meta = raw[HEADER_SIZE : HEADER_SIZE + meta_len]
    if len(meta) != meta_len or crc32c(meta) != meta_crc:
        raise CorruptChunkFile("bad metadata checksum")
    (ver, chain_ver, length, chunk_size, wcid, wseq, wcrc, evicted, nblocks, nclients) = (
        _FIXED.unpack_from(meta)
    )
    pos = _FIXED.size
    crcs = struct.unpack_from(f">{nblocks}I", meta, pos)
    pos += 4 * nblocks
    clients = tuple(_CLIENT.unpack_from(meta, pos + i * _CLIENT.size) for i in range(nclients))
    if nblocks != checksums.block_count(length) or offset != data_offset(chunk_size):
        raise CorruptChunkFile("metadata does not match its length")
    version = ChunkVersion(
        version=ver,
        chain_ver=chain_ver,
        length=length,
        chunk_size=chunk_size,
        writer=Writer(wcid, wseq, wcrc),
        clients=clients,
        evicted=evicted,
        block_crcs=crcs,
    )
    return version, offset


@dataclass(frozen=True)
class ChunkInfo:
    """A chunk as replication and resync see it: committed and pending together.

    `length` and `block_crcs` describe the committed content (what reads
    return); `clients`, `update_by` and `chain_ver` come from the newest
    version (pending if there is one), so a retry is recognised while its
    write is still pending.
    """

    chunk_id: bytes
    update_ver: int
    commit_ver: int
    chain_ver: int
    length: int
    chunk_size: int
    block_crcs: tuple[int, ...]
    clients: tuple[tuple[bytes, int], ...] = ()
    evicted: int = 0
    update_by: Writer = field(default_factory=Writer)
    pending_length: int | None = None

    @property
    def pending(self) -> bool:
        return self.update_ver > self.commit_ver

    @property
    def state(self) -> int:
        return data_pb2.CHUNK_STATE_PENDING if self.pending else data_pb2.CHUNK_STATE_COMMITTED

    def to_proto(self, with_block_checksums: bool = True) -> data_pb2.ChunkMeta:
        # ChunkMeta.crc32c ("of the committed content") is left 0: the engine
        # keeps block CRCs only; resync compares those.
        pb = data_pb2.ChunkMeta(
            chunk_id=self.chunk_id,
            update_ver=self.update_ver,
            commit_ver=self.commit_ver,
            chain_version=self.chain_ver,
            state=self.state,
            length=self.length,
            checksum_block_size=BLOCK,
            clients=[data_pb2.ClientSequence(client_id=c, sequence=s) for c, s in self.clients],
            update_by=data_pb2.ClientSequence(
                client_id=self.update_by.client_id, sequence=self.update_by.sequence
            ),
            update_payload_crc32c=self.update_by.payload_crc,
        )
        if with_block_checksums:
            pb.block_crc32c.extend(self.block_crcs)
        return pb

    @classmethod
    def from_proto(cls, pb: data_pb2.ChunkMeta, chunk_size: int) -> ChunkInfo:
        """A sender's committed metadata, for :meth:`ChunkStore.install`.

        ChunkMeta has no eviction count: a chunk whose map is full is taken
        to have evicted entries, so retries from unknown clients stay safe.
        """
        clients = tuple((bytes(c.client_id), c.sequence) for c in pb.clients)
        return cls(
            chunk_id=bytes(pb.chunk_id),
            update_ver=pb.commit_ver,
            commit_ver=pb.commit_ver,
            chain_ver=pb.chain_version,
            length=pb.length,
            chunk_size=chunk_size,
            block_crcs=tuple(pb.block_crc32c),
            clients=clients,
            evicted=1 if len(clients) >= MAX_CLIENTS else 0,
            update_by=Writer(
                check_client_id(bytes(pb.update_by.client_id)),
                pb.update_by.sequence,
                pb.update_payload_crc32c,
            ),
        )


def clients_tuple(pairs: Iterable[tuple[bytes, int]]) -> tuple[tuple[bytes, int], ...]:
    return tuple((check_client_id(c), int(s)) for c, s in pairs)
