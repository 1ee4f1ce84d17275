"""The Meta gRPC service: each call is one KV transaction (or a read of one).

Handlers only choose the transaction.  Mutations run through `apply_once`
(the idempotency record commits with the change), so every body is safe to
run again and `idempotent=True` lets the KV retry even a commit whose
outcome was unknown.  Single-item calls run inline on the event loop where
the engine allows it (a thread hop costs more than a point read); scans
and batches go to workers.  Errors become gRPC statuses in one place
(`flyfs.rpc.grpc_method`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from google.protobuf import message_factory
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

Mutation = Callable[[MetaContext, Transaction, Message], Message]

# Every method that changes the namespace, with the operation that does it.
MUTATIONS: dict[str, Mutation] = {
    "Mkdir": mkdir.run,
    "Create": create.run,
    "Open": open_session.run,
    "Close": close.run_close,
    "Sync": close.run_sync,
    "Truncate": truncate.run,
    "Unlink": unlink.run,
    "Rmdir": rmdir.run,
    "Rename": rename.run,
    "Symlink": symlink.run,
    "SetAttr": set_attr.run,
    "RenewSessions": sessions.renew,
}

_METHODS = meta_pb2.DESCRIPTOR.services_by_name["Meta"].methods_by_name


class MetaService(meta_pb2_grpc.MetaServicer):
    def __init__(self, db: Database, ctx: MetaContext):
        self.db = db
        self.ctx = ctx

    async def mutate(self, method: str, request: Message) -> Message:
        retention_ms = int(self.ctx.config.idempotency_retention_s * 1000)
        check_tag(request.tag, retention_ms, int(time.time() * 1000))
        op = MUTATIONS[method]
        response_type = message_factory.GetMessageClass(_METHODS[method].output_type)
        return await self.db.run_async(
            lambda tr: apply_once(
                tr, request.tag, method, response_type, lambda: op(self.ctx, tr, request)
            ),
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
    async def Statfs(self, request, context):
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
        return await self.mutate(method, request)

    handler.__name__ = handler.__qualname__ = method
    return grpc_method(handler)


for _method in MUTATIONS:
    setattr(MetaService, _method, _mutation_handler(_method))
