"""Close and sync: a session reports how far it wrote.

Length rule (DESIGN.md, `..lengths`): the file's length is the largest
hint reported, unless a truncate intervened since the session opened; then
the hint may be stale and the length comes from storage (the last chunk of
each chain): the body raises `NeedsLength` and the service measures outside
the transaction, then runs it again with `measured`.  Reads never see a
length shorter than a completed close.

Closing a WRITE session that replaces a file swaps the new inode into the
entry and retires the old one; with `abort`, the new inode is retired and
the entry left untouched.
"""

from __future__ import annotations

import time

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import common_pb2, meta_pb2

from .. import schema
from ..context import MetaContext, now_ns
from ..lengths import Measured, settle_length
from ..resolve import DIRECTORY
from .common import load_inode, retire


def load_session(
    tr: Transaction, inode_id: int, session_id: int, tag: common_pb2.RequestTag
) -> meta_pb2.WriteSession:
    session = schema.get_session(tr, inode_id, session_id)
    if session is None:
        raise error(
            Code.SESSION_EXPIRED,
            f"write session {session_id} of inode {inode_id} is gone (closed, or pruned"
            " after its lease lapsed)",
        )
    if session.client_id != tag.client_id:
        raise error(Code.PERMISSION, f"write session {session_id} belongs to another client")
    return session


def apply_length(
    ctx: MetaContext,
    inode: meta_pb2.Inode,
    session: meta_pb2.WriteSession,
    hint: int | None,
    measured: Measured | None,
    mtime_ns: int | None = None,
) -> None:
    can_measure = ctx.chunks is not None
    settle_length(inode, session.truncate_count, hint, measured, can_measure=can_measure)
    inode.mtime_ns = mtime_ns if mtime_ns is not None else now_ns()
    inode.ctime_ns = now_ns()


def hint_of(request: meta_pb2.CloseRequest | meta_pb2.SyncRequest) -> int | None:
    return request.length_hint if request.HasField("length_hint") else None


def run_close(
    ctx: MetaContext,
    tr: Transaction,
    request: meta_pb2.CloseRequest,
    measured: Measured | None = None,
) -> meta_pb2.CloseResponse:
    session = load_session(tr, request.inode_id, request.session_id, request.tag)
    inode = load_inode(tr, request.inode_id)
    schema.delete_session(tr, session)
    if session.replaces_inode_id:
        if request.abort:
            retire(ctx, tr, inode, "wb-abort")
            return meta_pb2.CloseResponse(inode=inode)
        swap_in(ctx, tr, session, inode)
    if not request.abort:
        mtime_ns = request.mtime_ns if request.HasField("mtime_ns") else None
        apply_length(ctx, inode, session, hint_of(request), measured, mtime_ns)
    schema.put_inode(tr, inode)
    return meta_pb2.CloseResponse(inode=inode)


def swap_in(
    ctx: MetaContext, tr: Transaction, session: meta_pb2.WriteSession, inode: meta_pb2.Inode
) -> None:
    """Make the session's new inode the one its path names; retire whatever was there."""
    if schema.get_inode(tr, session.parent) is None:
        raise error(Code.NOT_FOUND, f"the directory (inode {session.parent}) was removed")
    current = schema.get_dentry(tr, session.parent, session.name)
    if current is not None:
        if current.type == DIRECTORY:
            raise error(Code.IS_DIR, f"{session.name} became a directory while being written")
        old = schema.get_inode(tr, current.inode_id)
        if old is not None:
            retire(ctx, tr, old, "wb-swap")
    schema.put_dentry(tr, session.parent, session.name, inode)


def run_sync(
    ctx: MetaContext,
    tr: Transaction,
    request: meta_pb2.SyncRequest,
    measured: Measured | None = None,
) -> meta_pb2.SyncResponse:
    session = load_session(tr, request.inode_id, request.session_id, request.tag)
    inode = load_inode(tr, request.inode_id)
    hint = hint_of(request)
    if hint is not None and hint > session.length_hint:
        session.length_hint = hint
    session.lease_expires_unix_ms = int(time.time() * 1000) + ctx.lease_ms
    schema.put_session(tr, session)
    apply_length(ctx, inode, session, hint, measured)
    schema.put_inode(tr, inode)
    return meta_pb2.SyncResponse(inode=inode)
