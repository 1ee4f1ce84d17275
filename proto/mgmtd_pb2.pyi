from flyfs.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATUS_UNSPECIFIED: _ClassVar[NodeStatus]
    NODE_STATUS_ACTIVE: _ClassVar[NodeStatus]
    NODE_STATUS_OFFLINE: _ClassVar[NodeStatus]

class LocalTargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCAL_TARGET_STATE_UNSPECIFIED: _ClassVar[LocalTargetState]
    LOCAL_TARGET_STATE_UPTODATE: _ClassVar[LocalTargetState]
    LOCAL_TARGET_STATE_ONLINE: _ClassVar[LocalTargetState]
    LOCAL_TARGET_STATE_OFFLINE: _ClassVar[LocalTargetState]
NODE_STATUS_UNSPECIFIED: NodeStatus
NODE_STATUS_ACTIVE: NodeStatus
NODE_STATUS_OFFLINE: NodeStatus
LOCAL_TARGET_STATE_UNSPECIFIED: LocalTargetState
LOCAL_TARGET_STATE_UPTODATE: LocalTargetState
LOCAL_TARGET_STATE_ONLINE: LocalTargetState
LOCAL_TARGET_STATE_OFFLINE: LocalTargetState

class NodeInfo(_message.Message):
    __slots__ = ("node_id", "type", "name", "hostname", "grpc_address", "data_address", "incarnation", "status", "last_heartbeat_unix_ms", "pid")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DATA_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    type: _common_pb2.NodeType
    name: str
    hostname: str
    grpc_address: str
    data_address: str
    incarnation: int
    status: NodeStatus
    last_heartbeat_unix_ms: int
    pid: int
    def __init__(self, node_id: _Optional[int] = ..., type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., name: _Optional[str] = ..., hostname: _Optional[str] = ..., grpc_address: _Optional[str] = ..., data_address: _Optional[str] = ..., incarnation: _Optional[int] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., last_heartbeat_unix_ms: _Optional[int] = ..., pid: _Optional[int] = ...) -> None: ...

class SyncProgress(_message.Message):
    __slots__ = ("to_target_id", "chunks_done", "chunks_total", "bytes_done", "started_unix_ms")
    TO_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_DONE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    to_target_id: int
    chunks_done: int
    chunks_total: int
    bytes_done: int
    started_unix_ms: int
    def __init__(self, to_target_id: _Optional[int] = ..., chunks_done: _Optional[int] = ..., chunks_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., started_unix_ms: _Optional[int] = ...) -> None: ...

class TargetReport(_message.Message):
    __slots__ = ("target_id", "path", "local_state", "capacity_bytes", "used_bytes", "chunk_count", "sync", "chain_version", "repaired_chunks")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LOCAL_STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYNC_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    path: str
    local_state: LocalTargetState
    capacity_bytes: int
    used_bytes: int
    chunk_count: int
    sync: SyncProgress
    chain_version: int
    repaired_chunks: int
    def __init__(self, target_id: _Optional[int] = ..., path: _Optional[str] = ..., local_state: _Optional[_Union[LocalTargetState, str]] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ..., sync: _Optional[_Union[SyncProgress, _Mapping]] = ..., chain_version: _Optional[int] = ..., repaired_chunks: _Optional[int] = ...) -> None: ...

class TargetInfo(_message.Message):
    __slots__ = ("target_id", "node_id", "chain_id", "public_state", "local_state", "path", "capacity_bytes", "used_bytes", "chunk_count", "sync", "repaired_chunks")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_STATE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_STATE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYNC_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    node_id: int
    chain_id: int
    public_state: _common_pb2.TargetState
    local_state: LocalTargetState
    path: str
    capacity_bytes: int
    used_bytes: int
    chunk_count: int
    sync: SyncProgress
    repaired_chunks: int
    def __init__(self, target_id: _Optional[int] = ..., node_id: _Optional[int] = ..., chain_id: _Optional[int] = ..., public_state: _Optional[_Union[_common_pb2.TargetState, str]] = ..., local_state: _Optional[_Union[LocalTargetState, str]] = ..., path: _Optional[str] = ..., capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ..., sync: _Optional[_Union[SyncProgress, _Mapping]] = ..., repaired_chunks: _Optional[int] = ...) -> None: ...

class ChainInfo(_message.Message):
    __slots__ = ("chain_id", "chain_version", "target_ids")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_IDS_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    target_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., target_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ChainTable(_message.Message):
    __slots__ = ("table_id", "table_version", "replicas", "chain_ids")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    table_id: int
    table_version: int
    replicas: int
    chain_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, table_id: _Optional[int] = ..., table_version: _Optional[int] = ..., replicas: _Optional[int] = ..., chain_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class RoutingInfo(_message.Message):
    __slots__ = ("routing_version", "cluster_id", "nodes", "targets", "chains", "chain_tables")
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLES_FIELD_NUMBER: _ClassVar[int]
    routing_version: int
    cluster_id: str
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    targets: _containers.RepeatedCompositeFieldContainer[TargetInfo]
    chains: _containers.RepeatedCompositeFieldContainer[ChainInfo]
    chain_tables: _containers.RepeatedCompositeFieldContainer[ChainTable]
    def __init__(self, routing_version: _Optional[int] = ..., cluster_id: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., targets: _Optional[_Iterable[_Union[TargetInfo, _Mapping]]] = ..., chains: _Optional[_Iterable[_Union[ChainInfo, _Mapping]]] = ..., chain_tables: _Optional[_Iterable[_Union[ChainTable, _Mapping]]] = ...) -> None: ...

class RegisterNodeRequest(_message.Message):
    __slots__ = ("cluster_id", "type", "node_id", "name", "hostname", "pid", "grpc_address", "data_address", "targets")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DATA_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    type: _common_pb2.NodeType
    node_id: int
    name: str
    hostname: str
    pid: int
    grpc_address: str
    data_address: str
    targets: _containers.RepeatedCompositeFieldContainer[TargetReport]
    def __init__(self, cluster_id: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., node_id: _Optional[int] = ..., name: _Optional[str] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., grpc_address: _Optional[str] = ..., data_address: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[TargetReport, _Mapping]]] = ...) -> None: ...

class RegisterNodeResponse(_message.Message):
    __slots__ = ("node_id", "incarnation", "target_ids", "heartbeat_interval_ms", "lease_ms", "routing")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    TARGET_IDS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    incarnation: int
    target_ids: _containers.RepeatedScalarFieldContainer[int]
    heartbeat_interval_ms: int
    lease_ms: int
    routing: RoutingInfo
    def __init__(self, node_id: _Optional[int] = ..., incarnation: _Optional[int] = ..., target_ids: _Optional[_Iterable[int]] = ..., heartbeat_interval_ms: _Optional[int] = ..., lease_ms: _Optional[int] = ..., routing: _Optional[_Union[RoutingInfo, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("cluster_id", "node_id", "incarnation", "sent_monotonic_ns", "applied_routing_version", "targets")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    SENT_MONOTONIC_NS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    node_id: int
    incarnation: int
    sent_monotonic_ns: int
    applied_routing_version: int
    targets: _containers.RepeatedCompositeFieldContainer[TargetReport]
    def __init__(self, cluster_id: _Optional[str] = ..., node_id: _Optional[int] = ..., incarnation: _Optional[int] = ..., sent_monotonic_ns: _Optional[int] = ..., applied_routing_version: _Optional[int] = ..., targets: _Optional[_Iterable[_Union[TargetReport, _Mapping]]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("sent_monotonic_ns", "routing_version", "lease_ms")
    SENT_MONOTONIC_NS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    sent_monotonic_ns: int
    routing_version: int
    lease_ms: int
    def __init__(self, sent_monotonic_ns: _Optional[int] = ..., routing_version: _Optional[int] = ..., lease_ms: _Optional[int] = ...) -> None: ...

class GetRoutingInfoRequest(_message.Message):
    __slots__ = ("cluster_id", "known_version")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    known_version: int
    def __init__(self, cluster_id: _Optional[str] = ..., known_version: _Optional[int] = ...) -> None: ...

class GetRoutingInfoResponse(_message.Message):
    __slots__ = ("unchanged", "routing")
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    unchanged: bool
    routing: RoutingInfo
    def __init__(self, unchanged: _Optional[bool] = ..., routing: _Optional[_Union[RoutingInfo, _Mapping]] = ...) -> None: ...

class WatchRoutingRequest(_message.Message):
    __slots__ = ("cluster_id", "known_version")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    known_version: int
    def __init__(self, cluster_id: _Optional[str] = ..., known_version: _Optional[int] = ...) -> None: ...

class WatchRoutingResponse(_message.Message):
    __slots__ = ("routing",)
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    routing: RoutingInfo
    def __init__(self, routing: _Optional[_Union[RoutingInfo, _Mapping]] = ...) -> None: ...

class CreateChainsRequest(_message.Message):
    __slots__ = ("tag", "replicas", "table_id", "target_ids", "chain_count", "dry_run")
    TAG_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_IDS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    replicas: int
    table_id: int
    target_ids: _containers.RepeatedScalarFieldContainer[int]
    chain_count: int
    dry_run: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., replicas: _Optional[int] = ..., table_id: _Optional[int] = ..., target_ids: _Optional[_Iterable[int]] = ..., chain_count: _Optional[int] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class CreateChainsResponse(_message.Message):
    __slots__ = ("table", "chains", "routing_version")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    table: ChainTable
    chains: _containers.RepeatedCompositeFieldContainer[ChainInfo]
    routing_version: int
    def __init__(self, table: _Optional[_Union[ChainTable, _Mapping]] = ..., chains: _Optional[_Iterable[_Union[ChainInfo, _Mapping]]] = ..., routing_version: _Optional[int] = ...) -> None: ...

class SetTargetStateRequest(_message.Message):
    __slots__ = ("tag", "target_id", "state", "reason")
    TAG_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    target_id: int
    state: _common_pb2.TargetState
    reason: str
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., target_id: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.TargetState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetTargetStateResponse(_message.Message):
    __slots__ = ("chain", "routing_version")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    chain: ChainInfo
    routing_version: int
    def __init__(self, chain: _Optional[_Union[ChainInfo, _Mapping]] = ..., routing_version: _Optional[int] = ...) -> None: ...
