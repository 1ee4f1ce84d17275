"""The Meta gRPC service: each call is one KV transaction (or a read of one).

Handlers only choose the transaction.  Mutations run through `apply_once`
(the idempotency record commits with the change), so every body is safe to
run again and `idempotent=True` lets the KV retry even a commit whose
outcome was unknown.  Single-item calls run inline on the event loop where
the engine allows it (a thread hop costs more than a point read); scans
and batches go to workers.  Errors become gRPC statuses in one place
(`flyfs.rpc.grpc_method`).

Truncate, Close and Sync may need storage (cut chunks, measure a length);
that runs here, on the loop and between transactions, never in a body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from google.protobuf import message_factory
from google.protobuf.message import Message

from flyfs.errors import Code, FlyfsError, error
from flyfs.kv import Database, Transaction
from flyfs.proto import meta_pb2, meta_pb2_grpc
from flyfs.rpc import grpc_method

from . import fsck, sessions
from .context import MetaContext
from .idempotency import apply_once, check_tag
from .lengths import Measured, NeedsLength
from .ops import (
    close,
    create,
    listdir,
    mkdir,
    open_session,
    rename,
    rmdir,
    set_attr,
    stat,
    symlink,
    truncate,
    unlink,
)

Mutation = Callable[[MetaContext, Transaction, Message], Message]
M = TypeVar("M", bound=Message)


class Cluster(Protocol):
    """What the service needs from mgmtd (`ClusterLink`); None on a standalone server."""

    def statfs(self) -> meta_pb2.StatfsResponse: ...

    async def refresh_routing(self) -> None: ...


# How often a storage step is redone because a truncate or rename raced it.
STORAGE_ROUNDS = 5

# Methods that change only the namespace, with the operation that does it
# (Close, Sync and Truncate may need storage first: methods of their own).
MUTATIONS: dict[str, Mutation] = {
    "Mkdir": mkdir.run,
    "Create": create.run,
    "Open": open_session.run,
    "Unlink": unlink.run,
    "Rmdir": rmdir.run,
    "Rename": rename.run,
    "Symlink": symlink.run,
    "SetAttr": set_attr.run,
    "RenewSessions": sessions.renew,
}

_METHODS = meta_pb2.DESCRIPTOR.services_by_name["Meta"].methods_by_name


class MetaService(meta_pb2_grpc.MetaServicer):
    def __init__(self, db: Database, ctx: MetaContext, cluster: Cluster | None = None):
        self.db = db
        self.ctx = ctx
        self.cluster = cluster

    async def routed(self, call: Callable[[], Awaitable[M]]) -> M:
        """`call()`, and once more after fetching routing if it named a chain table this
        server has not seen yet (mgmtd or another meta server is ahead of its poll)."""
        try:
            return await call()
        except FlyfsError as exc:
            if exc.code is not Code.CHAIN_UNAVAILABLE or self.cluster is None:
                raise
        await self.cluster.refresh_routing()
        return await call()

    def check(self, request: Message) -> None:
        retention_ms = int(self.ctx.config.idempotency_retention_s * 1000)
        check_tag(request.tag, retention_ms, int(time.time() * 1000))

    async def mutate(self, method: str, request: Message, op: Mutation | None = None) -> Message:
        self.check(request)
        op = op or MUTATIONS[method]
        response_type = message_factory.GetMessageClass(_METHODS[method].output_type)
        return await self.db.run_async(
            lambda tr: apply_once(
                tr, request.tag, method, response_type, lambda: op(self.ctx, tr, request)
            ),
            idempotent=True,
            inline=True,
        )

    async def with_length(self, method: str, request: M, run: Callable[..., M]) -> M:
        """A close or sync; measures the file on storage when the body asks (`NeedsLength`)."""
        measured: Measured | None = None
        for _ in range(STORAGE_ROUNDS):
            try:
                return await self.mutate(
                    method, request, lambda ctx, tr, r, m=measured: run(ctx, tr, r, m)
                )
            except NeedsLength as need:
                assert self.ctx.chunks is not None  # bodies ask only when there is storage
                length = await self.ctx.chunks.length(need.inode)
                measured = Measured(length, need.inode.truncate_count)
        raise error(Code.UNAVAILABLE, "the file kept being truncated while its length was measured")

    @grpc_method
    async def Close(self, request, context):
        return await self.routed(lambda: self.with_length("Close", request, close.run_close))

    @grpc_method
    async def Sync(self, request, context):
        return await self.routed(lambda: self.with_length("Sync", request, close.run_sync))

    @grpc_method
    async def Truncate(self, request, context):
        if self.ctx.chunks is None:
            return await self.mutate("Truncate", request, truncate.run)
        return await self.routed(lambda: self.truncate(request))

    async def truncate(self, request: meta_pb2.TruncateRequest) -> meta_pb2.TruncateResponse:
        """Cut storage, then commit; again if the path named another inode meanwhile."""
        chunks = self.ctx.chunks
        assert chunks is not None
        self.check(request)
        for _ in range(STORAGE_ROUNDS):
            cut = await self.db.read_async(lambda tr: truncate.target(tr, request), inline=True)
            if cut is not None:
                await chunks.truncate(cut, request.length)
            try:
                return await self.mutate(
                    "Truncate", request, lambda ctx, tr, r, c=cut: truncate.run(ctx, tr, r, c)
                )
            except truncate.NotCut:
                continue
        raise error(Code.UNAVAILABLE, "the path kept naming another file while it was truncated")

    @grpc_method
    async def Stat(self, request, context):
        return await self.db.read_async(lambda tr: stat.run(tr, request), inline=True)

    @grpc_method
    async def StatMany(self, request, context):
        limit = self.ctx.config.stat_many_max
        return await self.db.read_async(lambda tr: stat.run_many(tr, request, limit))

    @grpc_method
    async def List(self, request, context):
        config = self.ctx.config
        return await self.db.read_async(
            lambda tr: listdir.run(tr, request, config.list_limit_default, config.list_limit_max)
        )

    @grpc_method
    async def Readlink(self, request, context):
        return await self.db.read_async(lambda tr: symlink.readlink(tr, request), inline=True)

    @grpc_method
    async def Statfs(self, request, context):
        if self.cluster is not None:
            return self.cluster.statfs()
        capacity = self.ctx.config.capacity_bytes
        return meta_pb2.StatfsResponse(capacity_bytes=capacity, used_bytes=0, free_bytes=capacity)

    @grpc_method
    async def Fsck(self, request, context):
        return await asyncio.to_thread(fsck.run, self.db, request)

    @grpc_method
    async def Hello(self, request, context):
        return meta_pb2.HelloResponse(payload=request.payload)


def _mutation_handler(method: str):
    async def handler(self: MetaService, request: Message, context) -> Message:
        return await self.routed(lambda: self.mutate(method, request))

    handler.__name__ = handler.__qualname__ = method
    return grpc_method(handler)


for _method in MUTATIONS:
    setattr(MetaService, _method, _mutation_handler(_method))
