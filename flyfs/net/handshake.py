"""The first frame on every data-plane connection: who is talking, from which cluster.

A peer from another cluster (an old test cluster on a reused port) is
refused with CLUSTER_MISMATCH on both sides: the server answers it with that
status and closes, the client checks the server's identity in the answer.
"""

from __future__ import annotations

from flyfs import errors
from flyfs.errors import Code
from flyfs.proto import common_pb2, data_pb2

NodeType = int  # a common_pb2.NodeType value


def identity(
    cluster_id: str,
    node_id: int = 0,
    node_type: NodeType = common_pb2.NODE_TYPE_CLIENT,
    *,
    incarnation: int = 0,
    client_id: bytes = b"",
    name: str = "",
) -> common_pb2.Handshake:
    return common_pb2.Handshake(
        cluster_id=cluster_id,
        node_id=node_id,
        node_type=node_type,
        incarnation=incarnation,
        client_id=client_id,
        name=name,
    )


def check_peer(cluster_id: str, peer: common_pb2.Handshake) -> None:
    """Raise CLUSTER_MISMATCH unless `peer` belongs to `cluster_id`."""
    if peer.cluster_id != cluster_id:
        raise errors.error(
            Code.CLUSTER_MISMATCH,
            f"peer {peer.name or peer.node_id} is in cluster {peer.cluster_id!r}, "
            f"this process is in {cluster_id!r}",
        )


def status_error(status: common_pb2.Status) -> errors.FlyfsError | None:
    """The exception a response status stands for, or None when it is OK."""
    if not status.code:
        return None
    code = Code(status.code) if status.code in Code._value2member_map_ else Code.INTERNAL
    return errors.error(code, status.message, status.path or None)


def raise_for_status(header: data_pb2.ResponseHeader) -> data_pb2.ResponseHeader:
    """`header` if its whole-request status is OK, else its exception."""
    exc = status_error(header.status)
    if exc is not None:
        raise exc
    return header
