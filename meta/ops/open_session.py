"""Open a file for writing: a write session, a lease the client renews.

- WRITE ("wb") on an existing file writes a *new* inode; close swaps it into
  the entry, so readers see the old file or the new one, never a mix.  On a
  missing path it creates the file at once, as POSIX does, and writes it in
  place.
- APPEND ("ab") is exclusive: a second appender gets BUSY naming the holder
  and when its lease expires.
- UPDATE ("r+b") writes in place; several sessions may coexist.
Reading needs no session: readers stat, and never trust a cached length.
"""

from __future__ import annotations

import time

from flyfs.errors import Code, error
from flyfs.kv import Transaction
from flyfs.proto import meta_pb2

from .. import paths, schema
from ..context import MetaContext
from .common import resolve_for_create
from .create import create_entry, existing_file, new_file

WRITE = meta_pb2.OPEN_MODE_WRITE
APPEND = meta_pb2.OPEN_MODE_APPEND
UPDATE = meta_pb2.OPEN_MODE_UPDATE


def run(ctx: MetaContext, tr: Transaction, request: meta_pb2.OpenRequest) -> meta_pb2.OpenResponse:
    if request.open_mode not in (WRITE, APPEND, UPDATE):
        raise error(Code.INVALID_ARGUMENT, f"open_mode {request.open_mode} is not a write mode")
    names = paths.split(request.path)
    found = resolve_for_create(ctx, tr, names, request.path, parents=request.parents)
    now_ms = int(time.time() * 1000)
    session = meta_pb2.WriteSession(
        session_id=ctx.session_ids.next_id(),
        client_id=request.tag.client_id,
        open_mode=request.open_mode,
        opened_unix_ms=now_ms,
        lease_expires_unix_ms=now_ms + ctx.lease_ms,
    )
    response = meta_pb2.OpenResponse(session_id=session.session_id, session_lease_ms=ctx.lease_ms)
    if found.entry is None:
        if not request.create:
            raise error(Code.NOT_FOUND, "no such file", request.path)
        inode = create_entry(ctx, tr, found, request.mode, request.chunk_size, request.stripe)
    elif request.create and request.exclusive:
        raise error(Code.EXISTS, "already exists", request.path)
    else:
        inode = existing_file(tr, found)
        if request.open_mode == APPEND:
            check_no_appender(tr, inode.id, now_ms, request.path)
        if request.open_mode == WRITE:
            old = inode
            inode = new_file(
                ctx,
                request.mode or old.mode,
                found.parent_id,
                request.chunk_size or old.layout.chunk_size,
                request.stripe,
            )
            schema.put_inode(tr, inode)
            session.parent, session.name = found.parent_id, found.name
            session.replaces_inode_id = old.id
            response.replaces_inode_id = old.id
    session.inode_id = inode.id
    session.length_hint = inode.size
    session.truncate_count = inode.truncate_count
    schema.put_session(tr, session)
    response.inode.CopyFrom(inode)
    return response


def check_no_appender(tr: Transaction, inode_id: int, now_ms: int, path: str) -> None:
    for _, raw in tr.get_prefix(schema.session_prefix(inode_id)):
        other = meta_pb2.WriteSession.FromString(raw)
        if other.open_mode == APPEND and other.lease_expires_unix_ms > now_ms:
            expiry = time.gmtime(other.lease_expires_unix_ms / 1000)
            raise error(
                Code.BUSY,
                f"open for append by client {other.client_id.hex()} (session"
                f" {other.session_id}) until its lease expires at"
                f" {time.strftime('%Y-%m-%dT%H:%M:%SZ', expiry)}",
                path,
            )
