"""Start real mgmtd processes, and talk to them as storage and meta nodes will.

`MgmtdCaller` is a synchronous client for tests: failures come back as flyfs
exceptions, and `register_storage` fakes a storage node with targets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc

from flyfs import errors
from flyfs.kv import KvConfig
from flyfs.launch import Launched, launch_service
from flyfs.mgmtd.config import MgmtdConfig
from flyfs.proto import common_pb2, mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.request_tags import RequestTagger

CLUSTER = "test-cluster"
STORAGE, META = common_pb2.NODE_TYPE_STORAGE, common_pb2.NODE_TYPE_META
UPTODATE = mgmtd_pb2.LOCAL_TARGET_STATE_UPTODATE


class MgmtdServer(Launched):
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port('grpc')}"


def start_mgmtd(directory: Path, name: str = "mgmtd", **overrides) -> MgmtdServer:
    """An mgmtd on its own KV file in `directory` (restart it with the same directory)."""
    overrides.setdefault("cluster_id", CLUSTER)
    overrides.setdefault("lease_s", 30.0)
    config = MgmtdConfig(kv=KvConfig(sqlite_path=str(directory / "mgmtd-kv.db")), **overrides)
    launched = launch_service("mgmtd", config, directory, name)
    return MgmtdServer(launched.proc, launched.ready, launched.dir)


class MgmtdCaller:
    def __init__(self, address: str):
        self.channel = grpc.insecure_channel(address)
        self.stub = mgmtd_pb2_grpc.MgmtdStub(self.channel)
        self.tagger = RequestTagger()

    def call(self, method: str, request, *, timeout: float = 10):
        if "tag" in request.DESCRIPTOR.fields_by_name and not request.HasField("tag"):
            request.tag.CopyFrom(self.tagger.tag())
        try:
            return getattr(self.stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise errors.from_grpc(exc) from None

    def register_storage(
        self, node_id: int, target_ids: list[int], **kw
    ) -> mgmtd_pb2.RegisterNodeResponse:
        targets = [
            mgmtd_pb2.TargetReport(
                target_id=t, path=f"/t/{t}", local_state=UPTODATE, capacity_bytes=1 << 30
            )
            for t in target_ids
        ]
        request = mgmtd_pb2.RegisterNodeRequest(
            cluster_id=CLUSTER,
            type=STORAGE,
            node_id=node_id,
            name=f"storage-{node_id}",
            data_address=f"127.0.0.1:{7000 + node_id}",
            targets=targets,
            **kw,
        )
        return self.call("RegisterNode", request)

    def heartbeat(self, node_id: int, incarnation: int, targets=()) -> mgmtd_pb2.HeartbeatResponse:
        request = mgmtd_pb2.HeartbeatRequest(
            cluster_id=CLUSTER,
            node_id=node_id,
            incarnation=incarnation,
            sent_monotonic_ns=12345,
            targets=list(targets),
        )
        return self.call("Heartbeat", request)

    def routing(self, known_version: int = 0) -> mgmtd_pb2.GetRoutingInfoResponse:
        request = mgmtd_pb2.GetRoutingInfoRequest(cluster_id=CLUSTER, known_version=known_version)
        return self.call("GetRoutingInfo", request)

    def create_chains(self, **kw) -> mgmtd_pb2.CreateChainsResponse:
        return self.call("CreateChains", mgmtd_pb2.CreateChainsRequest(**kw))

    def set_state(self, target_id: int, state: int) -> mgmtd_pb2.SetTargetStateResponse:
        request = mgmtd_pb2.SetTargetStateRequest(target_id=target_id, state=state, reason="test")
        return self.call("SetTargetState", request)

    def close(self) -> None:
        self.channel.close()


def flyfs(*args: str) -> subprocess.CompletedProcess:
    """Run the `flyfs` command line."""
    return subprocess.run(
        [sys.executable, "-m", "flyfs.cli", *args], capture_output=True, text=True, timeout=60
    )
