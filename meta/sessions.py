"""Write-session leases: renewal by client, pruning when a writer went quiet.

The client renews all of its sessions with one call; a session whose lease
plus a margin has passed is pruned.  Pruning a WRITE session that would
have replaced a file retires its new inode and leaves the old entry alone
(the writer died; the old file stays); pruning any other session keeps its
last reported length, raised to what storage holds: the writer may have
written more than it reported before it died, so with storage the pruner
measures the file first (outside the transaction) and the prune counts the
measurement only if no truncate ran in between (`.lengths`).
"""

from __future__ import annotations

import logging
import time

from flyfs.errors import FlyfsError
from flyfs.kv import Database, ReadTransaction, Transaction
from flyfs.kv.keys import Tag, tag_range
from flyfs.proto import meta_pb2

from . import schema
from .context import MetaContext
from .lengths import Measured, NeedsLength
from .ops.close import apply_length
from .ops.common import retire

log = logging.getLogger(__name__)


def renew(
    ctx: MetaContext, tr: Transaction, request: meta_pb2.RenewSessionsRequest
) -> meta_pb2.RenewSessionsResponse:
    expires = int(time.time() * 1000) + ctx.lease_ms
    wanted = set(request.session_ids)
    renewed = 0
    for key, _ in tr.get_prefix(schema.client_session_prefix(request.tag.client_id)):
        inode_id, session_id = schema.parse_client_session_key(key)
        if wanted and session_id not in wanted:
            continue
        session = schema.get_session(tr, inode_id, session_id)
        if session is None:
            continue
        session.lease_expires_unix_ms = expires
        schema.put_session(tr, session)
        wanted.discard(session_id)
        renewed += 1
    return meta_pb2.RenewSessionsResponse(
        renewed=renewed, lost_session_ids=sorted(wanted), session_lease_ms=ctx.lease_ms
    )


class SessionPruner:
    """Prunes sessions whose lease lapsed more than `margin` ago."""

    def __init__(self, db: Database, ctx: MetaContext, batch: int = 256):
        self.db, self.ctx, self.batch = db, ctx, batch

    def expired(self, tr: ReadTransaction, now_ms: int) -> list[meta_pb2.WriteSession]:
        margin_ms = int(self.ctx.config.session_prune_margin_s * 1000)
        begin, end = tag_range(Tag.SESSION)
        found = []
        for _, raw in tr.snapshot_get_range(begin, end):
            session = meta_pb2.WriteSession.FromString(raw)
            if session.lease_expires_unix_ms + margin_ms < now_ms:
                found.append(session)
                if len(found) == self.batch:
                    break
        return found

    async def run_once(self, now_ms: int | None = None) -> int:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        pruned = 0
        for stale in await self.db.read_async(lambda tr: self.expired(tr, now_ms)):
            try:
                measured = await self.measure(stale)
                done = await self.db.run_async(
                    lambda tr, s=stale, m=measured: self.prune(tr, s, m), idempotent=True
                )
            except (FlyfsError, NeedsLength) as exc:
                log.warning("pruning session %d waits: %s", stale.session_id, exc)
                continue
            if done:
                pruned += 1
                log.info(
                    "pruned write session %d of inode %d (client %s): lease lapsed",
                    stale.session_id,
                    stale.inode_id,
                    stale.client_id.hex(),
                )
        return pruned

    async def measure(self, stale: meta_pb2.WriteSession) -> Measured | None:
        """The file's length on storage, for a session whose file stays (None: no storage)."""
        chunks = self.ctx.chunks
        if chunks is None or stale.replaces_inode_id:
            return None
        inode = await self.db.read_async(lambda tr: schema.get_inode(tr, stale.inode_id))
        if inode is None or inode.unlinked:
            return None
        return Measured(await chunks.length(inode), inode.truncate_count)

    def prune(
        self, tr: Transaction, stale: meta_pb2.WriteSession, measured: Measured | None = None
    ) -> bool:
        session = schema.get_session(tr, stale.inode_id, stale.session_id)
        if session is None or session.lease_expires_unix_ms != stale.lease_expires_unix_ms:
            return False  # closed or renewed since we looked
        schema.delete_session(tr, session)
        inode = schema.get_inode(tr, session.inode_id)
        if inode is None or inode.unlinked:
            return True  # its length no longer matters
        if session.replaces_inode_id:
            retire(self.ctx, tr, inode, "wb-pruned")
        else:
            apply_length(self.ctx, inode, session, session.length_hint, measured, inode.mtime_ns)
            schema.put_inode(tr, inode)
        return True
