"""The storage node process: targets, the data-plane server, the scrubber."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from flyfs.frame import DEFAULT_LIMITS
from flyfs.logs import setup_logging
from flyfs.net import ConnectionPool, DataServer, handshake
from flyfs.process import install_stop_signals, write_ready_file
from flyfs.proto import common_pb2
from flyfs.tasks import cancel_and_wait

from .config import StorageConfig
from .forwarding import Forwarder
from .membership import Membership
from .placement import ConfiguredPlacement, Placement, RoutedPlacement
from .repair import Repairer
from .resync import Resyncer
from .scrubber import Mismatch, Scrubber
from .service import StorageService
from .targets import Target, Targets

log = logging.getLogger("flyfs.storage")

STOP_GRACE_S = 5.0


async def scrub_forever(
    targets: Targets, config: StorageConfig, repair: Callable[[Target, bytes], None] | None
) -> None:
    def hook(target: Target) -> Callable[[Mismatch], None] | None:
        if repair is None:
            return None  # the scrubber logs; a node alone has no replica to repair from
        return lambda mismatch: repair(target, mismatch.chunk_id)

    scrubbers = [Scrubber(t.store, config.scrub_bytes_per_s, hook(t)) for t in targets]
    while True:
        await asyncio.sleep(config.scrub_interval_s)
        for scrubber in scrubbers:
            try:
                await asyncio.to_thread(scrubber.run_once)
            except Exception:
                log.exception("scrubber failed; will try again")


async def serve(config: StorageConfig) -> None:
    targets = Targets(config)
    identity = handshake.identity(
        config.cluster_id,
        config.node_id,
        common_pb2.NODE_TYPE_STORAGE,
        name=f"storage-{config.node_id}",
    )
    forwarder = Forwarder(ConnectionPool(identity, timeout_s=config.forward_timeout_s))
    membership = Membership(config, targets) if config.mgmtd else None
    placement: Placement
    if membership is None:
        placement = ConfiguredPlacement(targets, config.chain_ids)
    else:
        # Until `membership.start` has registered and applied routing, this refuses (FENCED).
        placement = RoutedPlacement(
            targets, lambda: membership.routing, membership.check_fence, membership.watcher.refresh
        )
    service = StorageService(
        targets,
        placement,
        config.io_threads,
        DEFAULT_LIMITS.max_payload_bytes,
        config.max_read_fds,
        forwarder,
    )
    repairer: Repairer | None = None
    resyncing: asyncio.Task[None] | None = None
    if membership is not None:
        repairer = Repairer(
            lambda: membership.routing, service.chunk_locks, forwarder, service.in_io
        )
        service.on_bad_chunk = repairer.request
        resyncer = Resyncer(
            targets,
            lambda: membership.routing,
            membership.check_fence,
            service.chunk_locks,
            forwarder,
            service.in_io,
            config.resync_bytes_per_s,
            repairer.request,
        )
    server = DataServer(
        service.handle,
        config.cluster_id,
        config.node_id,
        node_type=common_pb2.NODE_TYPE_STORAGE,
        name=f"storage-{config.node_id}",
        host=config.host,
        port=config.port,
        max_inflight=config.max_inflight_per_connection,
        max_receive_bytes=config.max_receive_bytes,
        loops=config.data_loops or min(4, os.cpu_count() or 1),
    )
    port = await server.start()
    scrubbing = asyncio.create_task(
        scrub_forever(targets, config, repairer.request if repairer else None)
    )
    stopping = asyncio.Event()
    install_stop_signals(asyncio.get_running_loop(), stopping.set)
    try:
        if membership is not None:
            await membership.start(f"{config.host}:{port}")
            resyncing = asyncio.create_task(resyncer.run(), name="flyfs-resync")
        if config.ready_file:
            write_ready_file(config.ready_file, ports={"data": port}, targets=len(config.targets))
        log.info(
            "storage node %d listening on %s:%d with %d targets%s",
            config.node_id,
            config.host,
            port,
            len(config.targets),
            f", mgmtd {config.mgmtd}" if config.mgmtd else "",
        )
        await stopping.wait()
    finally:
        scrubbing.cancel()
        await cancel_and_wait(resyncing)
        await server.close(STOP_GRACE_S)
        if membership is not None:
            await membership.close()
        await forwarder.close()
        service.close()
        log.info("storage stopped")


def main(config: StorageConfig) -> None:
    setup_logging("storage", config.log_level, config.log_file or None)
    import uvloop

    uvloop.run(serve(config))
