from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_TYPE_UNSPECIFIED: _ClassVar[NodeType]
    NODE_TYPE_MGMTD: _ClassVar[NodeType]
    NODE_TYPE_META: _ClassVar[NodeType]
    NODE_TYPE_STORAGE: _ClassVar[NodeType]
    NODE_TYPE_CLIENT: _ClassVar[NodeType]

class TargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TARGET_STATE_UNSPECIFIED: _ClassVar[TargetState]
    TARGET_STATE_SERVING: _ClassVar[TargetState]
    TARGET_STATE_SYNCING: _ClassVar[TargetState]
    TARGET_STATE_WAITING: _ClassVar[TargetState]
    TARGET_STATE_LASTSRV: _ClassVar[TargetState]
    TARGET_STATE_OFFLINE: _ClassVar[TargetState]
NODE_TYPE_UNSPECIFIED: NodeType
NODE_TYPE_MGMTD: NodeType
NODE_TYPE_META: NodeType
NODE_TYPE_STORAGE: NodeType
NODE_TYPE_CLIENT: NodeType
TARGET_STATE_UNSPECIFIED: TargetState
TARGET_STATE_SERVING: TargetState
TARGET_STATE_SYNCING: TargetState
TARGET_STATE_WAITING: TargetState
TARGET_STATE_LASTSRV: TargetState
TARGET_STATE_OFFLINE: TargetState

class Status(_message.Message):
    __slots__ = ("code", "message", "path")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    path: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class RequestTag(_message.Message):
    __slots__ = ("client_id", "request_id", "sequence", "first_attempt_unix_ms", "attempt")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    client_id: bytes
    request_id: int
    sequence: int
    first_attempt_unix_ms: int
    attempt: int
    def __init__(self, client_id: _Optional[bytes] = ..., request_id: _Optional[int] = ..., sequence: _Optional[int] = ..., first_attempt_unix_ms: _Optional[int] = ..., attempt: _Optional[int] = ...) -> None: ...

class VersionedChainId(_message.Message):
    __slots__ = ("chain_id", "chain_version")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ...) -> None: ...

class Layout(_message.Message):
    __slots__ = ("chunk_size", "stripe", "chain_table_id", "chain_table_version", "chain_base", "shuffle_seed", "chain_ids")
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    STRIPE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_BASE_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_SEED_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    chunk_size: int
    stripe: int
    chain_table_id: int
    chain_table_version: int
    chain_base: int
    shuffle_seed: int
    chain_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, chunk_size: _Optional[int] = ..., stripe: _Optional[int] = ..., chain_table_id: _Optional[int] = ..., chain_table_version: _Optional[int] = ..., chain_base: _Optional[int] = ..., shuffle_seed: _Optional[int] = ..., chain_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class Handshake(_message.Message):
    __slots__ = ("cluster_id", "node_id", "node_type", "incarnation", "client_id", "name")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    node_id: int
    node_type: NodeType
    incarnation: int
    client_id: bytes
    name: str
    def __init__(self, cluster_id: _Optional[str] = ..., node_id: _Optional[int] = ..., node_type: _Optional[_Union[NodeType, str]] = ..., incarnation: _Optional[int] = ..., client_id: _Optional[bytes] = ..., name: _Optional[str] = ...) -> None: ...
