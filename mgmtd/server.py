"""The mgmtd process: gRPC on grpc.aio over the cluster state in the KV."""

from __future__ import annotations

import asyncio
import logging

import grpc

from flyfs.heartbeats import check_lease
from flyfs.kv import open_database
from flyfs.logs import setup_logging
from flyfs.process import install_stop_signals, write_ready_file
from flyfs.proto import mgmtd_pb2
from flyfs.rpc import SERVER_OPTIONS, add_service
from flyfs.tasks import cancel_and_wait

from .config import MgmtdConfig
from .service import MgmtdService
from .state import ClusterState

log = logging.getLogger("flyfs.mgmtd")

# Open WatchRouting streams never end by themselves; they are cut after this.
STOP_GRACE_S = 2.0


async def serve(config: MgmtdConfig) -> None:
    check_lease(config.lease_s, config.heartbeat_interval_s)
    db = open_database(config.kv)
    try:
        state = await ClusterState.open(db, config)
        server = grpc.aio.server(options=SERVER_OPTIONS)
        add_service(server, MgmtdService(state), mgmtd_pb2.DESCRIPTOR.services_by_name["Mgmtd"])
        port = server.add_insecure_port(f"{config.host}:{config.port}")
        await server.start()
        stopping = asyncio.Event()
        install_stop_signals(asyncio.get_running_loop(), stopping.set)
        if config.ready_file:
            write_ready_file(
                config.ready_file,
                ports={"grpc": port},
                engine=db.engine_name,
                cluster_id=config.cluster_id,
            )
        log.info(
            "mgmtd of cluster %r listening on %s:%d, KV engine %s, routing v%d",
            config.cluster_id,
            config.host,
            port,
            db.engine_name,
            state.version,
        )
        # Twice per heartbeat interval: a chain moves one state per step, and a
        # restarted target takes three steps (OFFLINE, WAITING, SYNCING).
        failover = asyncio.create_task(
            state.run_failover(max(config.heartbeat_interval_s / 2, 0.05)), name="flyfs-failover"
        )
        await stopping.wait()
        await cancel_and_wait(failover)
        await server.stop(STOP_GRACE_S)
        log.info("mgmtd stopped")
    finally:
        db.close()


def main(config: MgmtdConfig) -> None:
    setup_logging("mgmtd", config.log_level, config.log_file or None)
    import uvloop

    uvloop.run(serve(config))
