"""Bad requests are refused with INVALID_ARGUMENT and leave mgmtd running."""

from __future__ import annotations

import grpc
import pytest
from mgmtd_harness import CLUSTER, META, STORAGE

from flyfs import errors
from flyfs.errors import Code, FlyfsError
from flyfs.proto import common_pb2, mgmtd_pb2


def invalid(mgmtd, request) -> None:
    with pytest.raises(FlyfsError) as info:
        mgmtd.call("RegisterNode", request)
    assert info.value.code is Code.INVALID_ARGUMENT, info.value


@pytest.mark.parametrize(
    "request_",
    [
        mgmtd_pb2.RegisterNodeRequest(type=common_pb2.NODE_TYPE_CLIENT, grpc_address="h:1"),
        mgmtd_pb2.RegisterNodeRequest(type=99, grpc_address="h:1"),
        mgmtd_pb2.RegisterNodeRequest(type=META, grpc_address="no port"),
        mgmtd_pb2.RegisterNodeRequest(type=STORAGE, data_address=""),
        mgmtd_pb2.RegisterNodeRequest(
            type=META, grpc_address="h:1", targets=[mgmtd_pb2.TargetReport(target_id=5)]
        ),
        mgmtd_pb2.RegisterNodeRequest(
            type=STORAGE,
            data_address="h:1",
            targets=[mgmtd_pb2.TargetReport(target_id=5), mgmtd_pb2.TargetReport(target_id=5)],
        ),
    ],
    ids=["client", "unknown-type", "bad-address", "no-data-address", "meta-targets", "dup-target"],
)
def test_bad_registrations(mgmtd, request_):
    request_.cluster_id = CLUSTER
    invalid(mgmtd, request_)


def test_a_node_id_keeps_its_type_and_a_target_its_node(mgmtd):
    mgmtd.register_storage(301, [3011])
    invalid(mgmtd, mgmtd_pb2.RegisterNodeRequest(type=META, node_id=301, grpc_address="h:1"))
    with pytest.raises(FlyfsError) as info:
        mgmtd.register_storage(302, [3011])
    assert info.value.code is Code.INVALID_ARGUMENT


@pytest.mark.parametrize("method", ["RegisterNode", "Heartbeat", "CreateChains", "GetRoutingInfo"])
def test_undecodable_bytes_are_invalid_argument(mgmtd, method):
    rpc = mgmtd.channel.unary_unary(f"/flyfs.mgmtd.Mgmtd/{method}")
    with pytest.raises(grpc.RpcError) as info:
        rpc(b"\xff\xff\xff", timeout=10)
    assert errors.from_grpc(info.value).code is Code.INVALID_ARGUMENT
    assert mgmtd.routing().routing.cluster_id == CLUSTER
