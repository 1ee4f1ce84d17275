"""The Mgmtd gRPC service: validates, then hands each call to the cluster state.

Errors become gRPC statuses in one place (`flyfs.rpc.grpc_method`); the
streaming `WatchRouting` reports its one possible error (another cluster)
the same way before it sends anything.
"""

from __future__ import annotations

import logging

from flyfs import errors
from flyfs.errors import FlyfsError
from flyfs.proto import common_pb2, mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.rpc import Undecodable, grpc_method, to_flyfs_error

from . import create_chains, set_target_state
from .state import ClusterState

log = logging.getLogger("flyfs.mgmtd")


class MgmtdService(mgmtd_pb2_grpc.MgmtdServicer):
    def __init__(self, state: ClusterState) -> None:
        self.state = state

    @grpc_method
    async def RegisterNode(self, request, context):
        self.state.check_cluster(request.cluster_id)
        return await self.state.register(request)

    @grpc_method
    async def Heartbeat(self, request, context):
        self.state.check_cluster(request.cluster_id)
        return await self.state.heartbeat(request)

    @grpc_method
    async def GetRoutingInfo(self, request, context):
        self.state.check_cluster(request.cluster_id)
        if request.known_version and request.known_version == self.state.version:
            return mgmtd_pb2.GetRoutingInfoResponse(unchanged=True)
        return mgmtd_pb2.GetRoutingInfoResponse(routing=self.state.routing())

    async def WatchRouting(self, request, context):
        try:
            if isinstance(request, Undecodable):
                raise errors.error(errors.Code.INVALID_ARGUMENT, f"bad {request.type_name}")
            self.state.check_cluster(request.cluster_id)
        except FlyfsError as exc:
            failure = to_flyfs_error(exc)
            await context.abort(
                errors.grpc_status(failure.code),
                str(failure),
                trailing_metadata=errors.grpc_trailers(failure),
            )
        known = request.known_version
        while True:
            await self.state.wait_newer(known)
            routing = self.state.routing()
            known = routing.routing_version
            yield mgmtd_pb2.WatchRoutingResponse(routing=routing)

    @grpc_method
    async def CreateChains(self, request, context):
        if request.dry_run:
            response = create_chains.run(self.state.model.copy(), request)
            response.routing_version = self.state.version
            return response
        response, model = await self.state.change(lambda m: create_chains.run(m, request))
        response.routing_version = model.routing_version
        log.info(
            "chain table %d v%d: %d new chains of %d; routing v%d",
            response.table.table_id,
            response.table.table_version,
            len(response.chains),
            response.table.replicas,
            model.routing_version,
        )
        return response

    @grpc_method
    async def SetTargetState(self, request, context):
        chain, model = await self.state.change(lambda m: set_target_state.run(m, request))
        log.info(
            "target %d forced %s (%s): chain %d v%d %s; routing v%d",
            request.target_id,
            common_pb2.TargetState.Name(request.state),
            request.reason or "no reason given",
            chain.chain_id,
            chain.chain_version,
            list(chain.target_ids),
            model.routing_version,
        )
        return mgmtd_pb2.SetTargetStateResponse(chain=chain, routing_version=model.routing_version)
