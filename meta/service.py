"""The Meta gRPC service: each call is one KV transaction (or a read of one).

Handlers only choose the transaction: reads run as read-only bodies,
single-item calls inline on the event loop where the engine allows it
(a thread hop costs more than a point read), batches and scans on workers;
mutations through `apply_once` (idempotency record in the same
transaction), so every body is safe to run again and `idempotent=True`
lets the KV retry even a commit whose outcome was unknown.  Errors become
gRPC statuses in one place (`flyfs.rpc.grpc_method`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from flyfs.kv import Database, Transaction
from flyfs.proto import meta_pb2, meta_pb2_grpc
from flyfs.rpc import grpc_method

from . import fsck, sessions
from .context import MetaContext
from .idempotency import apply_once, check_tag
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

M = TypeVar("M", bound=Message)


class MetaService(meta_pb2_grpc.MetaServicer):
    def __init__(self, db: Database, ctx: MetaContext):
        self.db = db
        self.ctx = ctx

    async def _mutate(
        self, method: str, request: Message, response_type: type[M], op: Callable[[Transaction], M]
    ) -> M:
        tag = request.tag
        retention_ms = int(self.ctx.config.idempotency_retention_s * 1000)
        check_tag(tag, retention_ms, int(time.time() * 1000))
        return await self.db.run_async(
            lambda tr: apply_once(tr, tag, method, response_type, lambda: op(tr)),
            idempotent=True,
            inline=True,
        )

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
    async def Mkdir(self, request, context):
        return await self._mutate(
            "Mkdir", request, meta_pb2.MkdirResponse, lambda tr: mkdir.run(self.ctx, tr, request)
        )

    @grpc_method
    async def Create(self, request, context):
        return await self._mutate(
            "Create", request, meta_pb2.CreateResponse, lambda tr: create.run(self.ctx, tr, request)
        )

    @grpc_method
    async def Open(self, request, context):
        return await self._mutate(
            "Open",
            request,
            meta_pb2.OpenResponse,
            lambda tr: open_session.run(self.ctx, tr, request, request.tag),
        )

    @grpc_method
    async def Close(self, request, context):
        return await self._mutate(
            "Close",
            request,
            meta_pb2.CloseResponse,
            lambda tr: close.run_close(self.ctx, tr, request, request.tag),
        )

    @grpc_method
    async def Sync(self, request, context):
        return await self._mutate(
            "Sync",
            request,
            meta_pb2.SyncResponse,
            lambda tr: close.run_sync(self.ctx, tr, request, request.tag),
        )

    @grpc_method
    async def Truncate(self, request, context):
        return await self._mutate(
            "Truncate", request, meta_pb2.TruncateResponse, lambda tr: truncate.run(tr, request)
        )

    @grpc_method
    async def Unlink(self, request, context):
        return await self._mutate(
            "Unlink", request, meta_pb2.UnlinkResponse, lambda tr: unlink.run(self.ctx, tr, request)
        )

    @grpc_method
    async def Rmdir(self, request, context):
        return await self._mutate(
            "Rmdir", request, meta_pb2.RmdirResponse, lambda tr: rmdir.run(tr, request)
        )

    @grpc_method
    async def Rename(self, request, context):
        return await self._mutate(
            "Rename", request, meta_pb2.RenameResponse, lambda tr: rename.run(self.ctx, tr, request)
        )

    @grpc_method
    async def Symlink(self, request, context):
        return await self._mutate(
            "Symlink",
            request,
            meta_pb2.SymlinkResponse,
            lambda tr: symlink.run(self.ctx, tr, request),
        )

    @grpc_method
    async def SetAttr(self, request, context):
        return await self._mutate(
            "SetAttr", request, meta_pb2.SetAttrResponse, lambda tr: set_attr.run(tr, request)
        )

    @grpc_method
    async def RenewSessions(self, request, context):
        return await self._mutate(
            "RenewSessions",
            request,
            meta_pb2.RenewSessionsResponse,
            lambda tr: sessions.renew(self.ctx, tr, request, request.tag),
        )

    @grpc_method
    async def Statfs(self, request, context):
        capacity = self.ctx.config.capacity_bytes
        return meta_pb2.StatfsResponse(capacity_bytes=capacity, used_bytes=0, free_bytes=capacity)

    @grpc_method
    async def Fsck(self, request, context):
        return await asyncio.to_thread(fsck.run, self.db, request)

    @grpc_method
    async def Hello(self, request, context):
        return meta_pb2.HelloResponse(payload=request.payload)
