"""The meta server process: gRPC on grpc.aio, KV transactions, background duties."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Protocol

import grpc

from flyfs.kv import Database, Transaction, open_database
from flyfs.layout import ChainTableSource, StaticChainTable
from flyfs.logs import setup_logging
from flyfs.process import install_stop_signals, write_ready_file
from flyfs.proto import meta_pb2
from flyfs.rpc import SERVER_OPTIONS, add_service

from . import schema
from .cluster import ClusterLink
from .config import MetaConfig
from .context import MetaContext, now_ns
from .file_chunks import FileChunks
from .idempotency import IdempotencyCollector
from .ids import IdAllocator
from .removal import NoStorage, RemovalCollector
from .service import MetaService
from .sessions import SessionPruner

log = logging.getLogger("flyfs.meta")

STOP_GRACE_S = 5.0


def ensure_root(tr: Transaction) -> None:
    if schema.get_inode(tr, schema.ROOT_ID) is None:
        now = now_ns()
        schema.put_inode(
            tr,
            meta_pb2.Inode(
                id=schema.ROOT_ID,
                type=meta_pb2.INODE_TYPE_DIRECTORY,
                mode=0o755,
                nlink=2,
                parent=schema.ROOT_ID,
                atime_ns=now,
                mtime_ns=now,
                ctime_ns=now,
            ),
        )


def make_context(
    config: MetaConfig,
    db: Database,
    chains: ChainTableSource | None = None,
    chunks: FileChunks | None = None,
) -> MetaContext:
    """Standalone unless `chains` and `chunks` come from the cluster."""
    return MetaContext(
        config=config,
        inode_ids=IdAllocator(db, schema.INODE_COUNTER, config.inode_id_batch),
        session_ids=IdAllocator(db, schema.SESSION_COUNTER, config.inode_id_batch),
        chains=chains or StaticChainTable(config.chains),
        rng=random.Random(),
        chunks=chunks,
    )


class Duty(Protocol):
    async def run_once(self) -> object: ...


async def every(interval_s: float, duty: Duty) -> None:
    """Run `duty.run_once` forever on the server's loop; a failure is logged, not fatal.

    Duties are coroutines because some call storage, whose connection pool
    belongs to this loop; their KV bodies still run on the KV's workers.
    """
    while True:
        try:
            await duty.run_once()
        except Exception:
            log.exception("%s failed; will try again", type(duty).__name__)
        await asyncio.sleep(interval_s)


async def serve(config: MetaConfig) -> None:
    db = open_database(config.kv)
    link: ClusterLink | None = None
    try:
        await db.run_async(ensure_root)
        server = grpc.aio.server(options=SERVER_OPTIONS)
        port = server.add_insecure_port(f"{config.host}:{config.port}")
        if config.mgmtd:
            link = await ClusterLink.join(config, f"{config.host}:{port}")
            ctx = make_context(config, db, link.tables(), link.chunks())
            service = MetaService(db, ctx, link)
        else:
            ctx = make_context(config, db)
            service = MetaService(db, ctx)
        add_service(server, service, meta_pb2.DESCRIPTOR.services_by_name["Meta"])
        await server.start()
        duties: list[Duty] = [
            SessionPruner(db, ctx),
            RemovalCollector(db, ctx.chunks or NoStorage()),
            IdempotencyCollector(db, config.idempotency_retention_s),
        ]
        tasks = [asyncio.create_task(every(config.janitor_interval_s, d)) for d in duties]
        stopping = asyncio.Event()
        install_stop_signals(asyncio.get_running_loop(), stopping.set)
        if config.ready_file:
            write_ready_file(config.ready_file, ports={"grpc": port}, engine=db.engine_name)
        log.info("meta listening on %s:%d, KV engine %s", config.host, port, db.engine_name)
        await stopping.wait()
        for task in tasks:
            task.cancel()
        await server.stop(STOP_GRACE_S)
        log.info("meta stopped")
    finally:
        if link is not None:
            await link.close()
        db.close()


def main(config: MetaConfig) -> None:
    setup_logging("meta", config.log_level, config.log_file or None)
    import uvloop

    uvloop.run(serve(config))
