"""RegisterNode: a meta server or storage node (re)starting.

Semantic choices:
- Every call is a new incarnation (one counter for the whole cluster), so a
  restarted process is never taken for the one before it.
- `node_id` 0 gets the next unused id above `AUTO_ID_BASE` (2^20, so it never
  takes an id another node is configured with); a requested id is kept.  A node id
  never changes type (a storage id reused by a meta server is refused).
- A reported `target_id` is kept (the launcher assigns ids), 0 gets the
  next unused one.  A target belongs to one node for life.
- A re-registering node's targets keep their chain, place and public
  state.  Until the failover issue, nothing goes OFFLINE automatically, so
  a restarted storage node's targets stay SERVING; that issue will mark a
  new incarnation's targets OFFLINE, to go WAITING → SYNCING → SERVING.
- A new target starts outside any chain (chain 0) and SERVING: it serves
  nothing until CreateChains places it.
- Targets are never removed, nodes never forgotten (not in this issue).
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.proto import common_pb2, mgmtd_pb2
from flyfs.routing import split_address

from .model import ClusterModel

META, STORAGE = common_pb2.NODE_TYPE_META, common_pb2.NODE_TYPE_STORAGE


def _type_name(node_type: int) -> str:
    known = node_type in common_pb2.NodeType.values()
    return common_pb2.NodeType.Name(node_type) if known else str(node_type)


def validate(request: mgmtd_pb2.RegisterNodeRequest) -> None:
    """Refuse what could never be registered, before anything changes."""
    if request.type == META:
        split_address(request.grpc_address)
        if request.targets:
            raise error(Code.INVALID_ARGUMENT, "a meta server has no targets")
    elif request.type == STORAGE:
        split_address(request.data_address)
    else:
        kind = _type_name(request.type)
        raise error(Code.INVALID_ARGUMENT, f"nodes of type {kind} do not register")
    named = [t.target_id for t in request.targets if t.target_id]
    if len(named) != len(set(named)):
        raise error(Code.INVALID_ARGUMENT, "a target id is reported twice")


def run(
    model: ClusterModel, request: mgmtd_pb2.RegisterNodeRequest
) -> mgmtd_pb2.RegisterNodeResponse:
    """Register into `model` (a draft); the answer lacks routing and timing."""
    validate(request)
    node_id = request.node_id or model.next_node_id()
    known = model.nodes.get(node_id)
    if known is not None and known.type != request.type:
        raise error(
            Code.INVALID_ARGUMENT,
            f"node {node_id} is a {_type_name(known.type)}, not a {_type_name(request.type)}",
        )
    model.last_node_id = max(model.last_node_id, node_id)
    model.last_incarnation += 1
    model.nodes[node_id] = mgmtd_pb2.NodeInfo(
        node_id=node_id,
        type=request.type,
        name=request.name,
        hostname=request.hostname,
        grpc_address=request.grpc_address,
        data_address=request.data_address,
        incarnation=model.last_incarnation,
        status=mgmtd_pb2.NODE_STATUS_ACTIVE,
        pid=request.pid,
    )
    target_ids = [_register_target(model, node_id, report) for report in request.targets]
    return mgmtd_pb2.RegisterNodeResponse(
        node_id=node_id, incarnation=model.last_incarnation, target_ids=target_ids
    )


def _register_target(model: ClusterModel, node_id: int, report: mgmtd_pb2.TargetReport) -> int:
    target_id = report.target_id or model.next_target_id()
    model.last_target_id = max(model.last_target_id, target_id)
    target = model.targets.get(target_id)
    if target is None:
        target = mgmtd_pb2.TargetInfo(
            target_id=target_id, node_id=node_id, public_state=common_pb2.TARGET_STATE_SERVING
        )
    elif target.node_id != node_id:
        raise error(Code.INVALID_ARGUMENT, f"target {target_id} belongs to node {target.node_id}")
    target.path = report.path
    target.local_state = report.local_state
    target.capacity_bytes = report.capacity_bytes
    target.used_bytes = report.used_bytes
    target.chunk_count = report.chunk_count
    model.targets[target_id] = target
    return target_id
