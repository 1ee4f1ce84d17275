"""Every record tag in the KV, in one table, so no two services ever collide.

A key is a 4-byte tag, then fixed-width big-endian integers, then (for
names) raw bytes: keys of one record type sort together, and integer parts
sort numerically, so "all entries of directory 7" or "all sessions of inode
9" is one range scan.  Builders live with the service that owns the record
(`flyfs.meta.schema`, `flyfs.mgmtd.schema`); they pack with the helpers here.
"""

from __future__ import annotations

import struct
from enum import Enum

from .api import prefix_end


class Tag(bytes, Enum):
    # meta
    INODE = b"INOD"  # + inode id -> meta.Inode
    DENTRY = b"DENT"  # + parent id + name -> meta.DirEntry
    SESSION = b"INOS"  # + inode id + session id -> meta.WriteSession
    CLIENT_SESSION = b"CSES"  # + client id + inode id + session id -> b""
    IDEMPOTENCY = b"IDEM"  # + first-attempt ms + client id + request id -> meta.IdempotencyRecord
    REMOVAL = b"RMQ_"  # + not-before ms + inode id -> meta.RemovalRecord
    COUNTER = b"CNTR"  # + counter name -> little-endian counter
    # mgmtd
    NODE = b"NODE"
    TARGET = b"TARG"
    CHAIN = b"CHAN"
    CHAIN_TABLE = b"CTBL"
    MGMTD_STATE = b"MGST"


_U64 = struct.Struct(">Q")


def u64(value: int) -> bytes:
    """A big-endian 8-byte key part: numeric order is byte order."""
    return _U64.pack(value)


def read_u64(data: bytes, offset: int = 0) -> int:
    return _U64.unpack_from(data, offset)[0]


def tag_range(tag: Tag) -> tuple[bytes, bytes]:
    """Begin and end of every key with `tag`."""
    return tag.value, prefix_end(tag.value)
