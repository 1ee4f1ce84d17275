"""Meta's records in the KV: key builders and typed reads and writes.

Keys (tags from `flyfs.kv.keys`):
    INOD + inode                      -> Inode
    DENT + parent + name (UTF-8)      -> DirEntry (inode id and type only)
    INOS + inode + session            -> WriteSession
    CSES + client id + inode + session -> b""  (renew all of a client's sessions)
    IDEM + first-attempt ms + client id + request id -> IdempotencyRecord
    RMQ_ + not-before ms + inode      -> RemovalRecord
    CNTR + name                       -> little-endian id counter
"""

from __future__ import annotations

from flyfs.kv import ReadTransaction, Transaction
from flyfs.kv.api import prefix_end
from flyfs.kv.keys import Tag, read_u64, u64
from flyfs.proto import meta_pb2

ROOT_ID = 1
FIRST_FREE_ID = 2

INODE_COUNTER = Tag.COUNTER.value + b"inode"
SESSION_COUNTER = Tag.COUNTER.value + b"session"


def inode_key(inode_id: int) -> bytes:
    return Tag.INODE.value + u64(inode_id)


def dentry_key(parent: int, name: str) -> bytes:
    return Tag.DENTRY.value + u64(parent) + name.encode()


def dentry_prefix(parent: int) -> bytes:
    return Tag.DENTRY.value + u64(parent)


def dentry_name(key: bytes) -> str:
    return key[12:].decode()


def session_key(inode_id: int, session_id: int) -> bytes:
    return Tag.SESSION.value + u64(inode_id) + u64(session_id)


def session_prefix(inode_id: int) -> bytes:
    return Tag.SESSION.value + u64(inode_id)


def client_session_key(client_id: bytes, inode_id: int, session_id: int) -> bytes:
    return Tag.CLIENT_SESSION.value + client_id + u64(inode_id) + u64(session_id)


def client_session_prefix(client_id: bytes) -> bytes:
    return Tag.CLIENT_SESSION.value + client_id


def parse_client_session_key(key: bytes) -> tuple[int, int]:
    return read_u64(key, len(key) - 16), read_u64(key, len(key) - 8)


def idempotency_key(first_attempt_ms: int, client_id: bytes, request_id: int) -> bytes:
    return Tag.IDEMPOTENCY.value + u64(max(first_attempt_ms, 0)) + client_id + u64(request_id)


def idempotency_before(unix_ms: int) -> tuple[bytes, bytes]:
    """The range of records whose first attempt was before `unix_ms`."""
    return Tag.IDEMPOTENCY.value, Tag.IDEMPOTENCY.value + u64(max(unix_ms, 0))


def removal_key(not_before_ms: int, inode_id: int) -> bytes:
    return Tag.REMOVAL.value + u64(max(not_before_ms, 0)) + u64(inode_id)


def removals_due(now_ms: int) -> tuple[bytes, bytes]:
    return Tag.REMOVAL.value, Tag.REMOVAL.value + u64(now_ms + 1)


def tag_end(tag: Tag) -> bytes:
    return prefix_end(tag.value)


# -- typed access ------------------------------------------------------------


def get_inode(
    tr: ReadTransaction, inode_id: int, *, snapshot: bool = False
) -> meta_pb2.Inode | None:
    read = tr.snapshot_get if snapshot else tr.get
    raw = read(inode_key(inode_id))
    return None if raw is None else meta_pb2.Inode.FromString(raw)


def put_inode(tr: Transaction, inode: meta_pb2.Inode) -> None:
    tr.set(inode_key(inode.id), inode.SerializeToString())


def get_dentry(
    tr: ReadTransaction, parent: int, name: str, *, snapshot: bool = False
) -> meta_pb2.DirEntry | None:
    read = tr.snapshot_get if snapshot else tr.get
    raw = read(dentry_key(parent, name))
    if raw is None:
        return None
    entry = meta_pb2.DirEntry.FromString(raw)
    entry.parent, entry.name = parent, name
    return entry


def put_dentry(tr: Transaction, parent: int, name: str, inode: meta_pb2.Inode) -> None:
    value = meta_pb2.DirEntry(inode_id=inode.id, type=inode.type)
    tr.set(dentry_key(parent, name), value.SerializeToString())


def get_session(
    tr: ReadTransaction, inode_id: int, session_id: int
) -> meta_pb2.WriteSession | None:
    raw = tr.get(session_key(inode_id, session_id))
    return None if raw is None else meta_pb2.WriteSession.FromString(raw)


def put_session(tr: Transaction, session: meta_pb2.WriteSession) -> None:
    tr.set(session_key(session.inode_id, session.session_id), session.SerializeToString())
    tr.set(client_session_key(session.client_id, session.inode_id, session.session_id), b"")


def delete_session(tr: Transaction, session: meta_pb2.WriteSession) -> None:
    tr.clear(session_key(session.inode_id, session.session_id))
    tr.clear(client_session_key(session.client_id, session.inode_id, session.session_id))


def queue_removal(tr: Transaction, record: meta_pb2.RemovalRecord) -> None:
    tr.set(removal_key(record.not_before_unix_ms, record.inode_id), record.SerializeToString())
