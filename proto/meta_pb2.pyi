from flyfs.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INODE_TYPE_UNSPECIFIED: _ClassVar[InodeType]
    INODE_TYPE_FILE: _ClassVar[InodeType]
    INODE_TYPE_DIRECTORY: _ClassVar[InodeType]
    INODE_TYPE_SYMLINK: _ClassVar[InodeType]

class OpenMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPEN_MODE_UNSPECIFIED: _ClassVar[OpenMode]
    OPEN_MODE_WRITE: _ClassVar[OpenMode]
    OPEN_MODE_APPEND: _ClassVar[OpenMode]
    OPEN_MODE_UPDATE: _ClassVar[OpenMode]
INODE_TYPE_UNSPECIFIED: InodeType
INODE_TYPE_FILE: InodeType
INODE_TYPE_DIRECTORY: InodeType
INODE_TYPE_SYMLINK: InodeType
OPEN_MODE_UNSPECIFIED: OpenMode
OPEN_MODE_WRITE: OpenMode
OPEN_MODE_APPEND: OpenMode
OPEN_MODE_UPDATE: OpenMode

class Inode(_message.Message):
    __slots__ = ("id", "type", "size", "mode", "uid", "gid", "atime_ns", "mtime_ns", "ctime_ns", "nlink", "parent", "layout", "symlink_target", "unlinked", "truncate_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    ATIME_NS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    CTIME_NS_FIELD_NUMBER: _ClassVar[int]
    NLINK_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SYMLINK_TARGET_FIELD_NUMBER: _ClassVar[int]
    UNLINKED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: InodeType
    size: int
    mode: int
    uid: int
    gid: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    nlink: int
    parent: int
    layout: _common_pb2.Layout
    symlink_target: str
    unlinked: bool
    truncate_count: int
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[InodeType, str]] = ..., size: _Optional[int] = ..., mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., atime_ns: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., ctime_ns: _Optional[int] = ..., nlink: _Optional[int] = ..., parent: _Optional[int] = ..., layout: _Optional[_Union[_common_pb2.Layout, _Mapping]] = ..., symlink_target: _Optional[str] = ..., unlinked: _Optional[bool] = ..., truncate_count: _Optional[int] = ...) -> None: ...

class DirEntry(_message.Message):
    __slots__ = ("parent", "name", "inode_id", "type", "inode")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INODE_FIELD_NUMBER: _ClassVar[int]
    parent: int
    name: str
    inode_id: int
    type: InodeType
    inode: Inode
    def __init__(self, parent: _Optional[int] = ..., name: _Optional[str] = ..., inode_id: _Optional[int] = ..., type: _Optional[_Union[InodeType, str]] = ..., inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class InodeRef(_message.Message):
    __slots__ = ("path", "inode_id")
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    path: str
    inode_id: int
    def __init__(self, path: _Optional[str] = ..., inode_id: _Optional[int] = ...) -> None: ...

class StatRequest(_message.Message):
    __slots__ = ("ref", "no_follow")
    REF_FIELD_NUMBER: _ClassVar[int]
    NO_FOLLOW_FIELD_NUMBER: _ClassVar[int]
    ref: InodeRef
    no_follow: bool
    def __init__(self, ref: _Optional[_Union[InodeRef, _Mapping]] = ..., no_follow: _Optional[bool] = ...) -> None: ...

class StatResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class StatManyRequest(_message.Message):
    __slots__ = ("refs", "no_follow")
    REFS_FIELD_NUMBER: _ClassVar[int]
    NO_FOLLOW_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedCompositeFieldContainer[InodeRef]
    no_follow: bool
    def __init__(self, refs: _Optional[_Iterable[_Union[InodeRef, _Mapping]]] = ..., no_follow: _Optional[bool] = ...) -> None: ...

class StatResult(_message.Message):
    __slots__ = ("status", "inode")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INODE_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.Status
    inode: Inode
    def __init__(self, status: _Optional[_Union[_common_pb2.Status, _Mapping]] = ..., inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class StatManyResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StatResult]
    def __init__(self, results: _Optional[_Iterable[_Union[StatResult, _Mapping]]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("dir", "cursor", "limit", "with_attrs")
    DIR_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WITH_ATTRS_FIELD_NUMBER: _ClassVar[int]
    dir: InodeRef
    cursor: bytes
    limit: int
    with_attrs: bool
    def __init__(self, dir: _Optional[_Union[InodeRef, _Mapping]] = ..., cursor: _Optional[bytes] = ..., limit: _Optional[int] = ..., with_attrs: _Optional[bool] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("entries", "next_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[DirEntry]
    next_cursor: bytes
    def __init__(self, entries: _Optional[_Iterable[_Union[DirEntry, _Mapping]]] = ..., next_cursor: _Optional[bytes] = ...) -> None: ...

class MkdirRequest(_message.Message):
    __slots__ = ("tag", "path", "mode", "parents", "exist_ok")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    EXIST_OK_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    mode: int
    parents: bool
    exist_ok: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ..., mode: _Optional[int] = ..., parents: _Optional[bool] = ..., exist_ok: _Optional[bool] = ...) -> None: ...

class MkdirResponse(_message.Message):
    __slots__ = ("inode", "created")
    INODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    created: bool
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("tag", "path", "mode", "exclusive", "chunk_size", "stripe", "parents")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    STRIPE_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    mode: int
    exclusive: bool
    chunk_size: int
    stripe: int
    parents: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ..., mode: _Optional[int] = ..., exclusive: _Optional[bool] = ..., chunk_size: _Optional[int] = ..., stripe: _Optional[int] = ..., parents: _Optional[bool] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("inode", "created")
    INODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    created: bool
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class OpenRequest(_message.Message):
    __slots__ = ("tag", "path", "open_mode", "create", "exclusive", "mode", "chunk_size", "stripe", "parents")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPEN_MODE_FIELD_NUMBER: _ClassVar[int]
    CREATE_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    STRIPE_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    open_mode: OpenMode
    create: bool
    exclusive: bool
    mode: int
    chunk_size: int
    stripe: int
    parents: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ..., open_mode: _Optional[_Union[OpenMode, str]] = ..., create: _Optional[bool] = ..., exclusive: _Optional[bool] = ..., mode: _Optional[int] = ..., chunk_size: _Optional[int] = ..., stripe: _Optional[int] = ..., parents: _Optional[bool] = ...) -> None: ...

class OpenResponse(_message.Message):
    __slots__ = ("inode", "session_id", "session_lease_ms", "replaces_inode_id")
    INODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    REPLACES_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    session_id: int
    session_lease_ms: int
    replaces_inode_id: int
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., session_id: _Optional[int] = ..., session_lease_ms: _Optional[int] = ..., replaces_inode_id: _Optional[int] = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("tag", "inode_id", "session_id", "length_hint", "abort", "mtime_ns")
    TAG_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_HINT_FIELD_NUMBER: _ClassVar[int]
    ABORT_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    inode_id: int
    session_id: int
    length_hint: int
    abort: bool
    mtime_ns: int
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., inode_id: _Optional[int] = ..., session_id: _Optional[int] = ..., length_hint: _Optional[int] = ..., abort: _Optional[bool] = ..., mtime_ns: _Optional[int] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("tag", "inode_id", "session_id", "length_hint")
    TAG_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_HINT_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    inode_id: int
    session_id: int
    length_hint: int
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., inode_id: _Optional[int] = ..., session_id: _Optional[int] = ..., length_hint: _Optional[int] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class TruncateRequest(_message.Message):
    __slots__ = ("tag", "ref", "length", "session_id")
    TAG_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    ref: InodeRef
    length: int
    session_id: int
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., ref: _Optional[_Union[InodeRef, _Mapping]] = ..., length: _Optional[int] = ..., session_id: _Optional[int] = ...) -> None: ...

class TruncateResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class UnlinkRequest(_message.Message):
    __slots__ = ("tag", "path")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ...) -> None: ...

class UnlinkResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class RmdirRequest(_message.Message):
    __slots__ = ("tag", "path")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ...) -> None: ...

class RmdirResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RenameRequest(_message.Message):
    __slots__ = ("tag", "src", "dst", "no_replace", "parents")
    TAG_FIELD_NUMBER: _ClassVar[int]
    SRC_FIELD_NUMBER: _ClassVar[int]
    DST_FIELD_NUMBER: _ClassVar[int]
    NO_REPLACE_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    src: str
    dst: str
    no_replace: bool
    parents: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., src: _Optional[str] = ..., dst: _Optional[str] = ..., no_replace: _Optional[bool] = ..., parents: _Optional[bool] = ...) -> None: ...

class RenameResponse(_message.Message):
    __slots__ = ("inode", "replaced")
    INODE_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    replaced: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., replaced: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SymlinkRequest(_message.Message):
    __slots__ = ("tag", "path", "target", "parents")
    TAG_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    path: str
    target: str
    parents: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., path: _Optional[str] = ..., target: _Optional[str] = ..., parents: _Optional[bool] = ...) -> None: ...

class SymlinkResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class ReadlinkRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: InodeRef
    def __init__(self, ref: _Optional[_Union[InodeRef, _Mapping]] = ...) -> None: ...

class ReadlinkResponse(_message.Message):
    __slots__ = ("target",)
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: str
    def __init__(self, target: _Optional[str] = ...) -> None: ...

class SetAttrRequest(_message.Message):
    __slots__ = ("tag", "ref", "mode", "uid", "gid", "atime_ns", "mtime_ns", "no_follow")
    TAG_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    ATIME_NS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    NO_FOLLOW_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    ref: InodeRef
    mode: int
    uid: int
    gid: int
    atime_ns: int
    mtime_ns: int
    no_follow: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., ref: _Optional[_Union[InodeRef, _Mapping]] = ..., mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., atime_ns: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., no_follow: _Optional[bool] = ...) -> None: ...

class SetAttrResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class StatfsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatfsResponse(_message.Message):
    __slots__ = ("capacity_bytes", "used_bytes", "free_bytes")
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    capacity_bytes: int
    used_bytes: int
    free_bytes: int
    def __init__(self, capacity_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., free_bytes: _Optional[int] = ...) -> None: ...

class RenewSessionsRequest(_message.Message):
    __slots__ = ("tag", "session_ids")
    TAG_FIELD_NUMBER: _ClassVar[int]
    SESSION_IDS_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    session_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., session_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class RenewSessionsResponse(_message.Message):
    __slots__ = ("renewed", "lost_session_ids", "session_lease_ms")
    RENEWED_FIELD_NUMBER: _ClassVar[int]
    LOST_SESSION_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    renewed: int
    lost_session_ids: _containers.RepeatedScalarFieldContainer[int]
    session_lease_ms: int
    def __init__(self, renewed: _Optional[int] = ..., lost_session_ids: _Optional[_Iterable[int]] = ..., session_lease_ms: _Optional[int] = ...) -> None: ...

class FsckRequest(_message.Message):
    __slots__ = ("tag", "repair", "sweep_storage")
    TAG_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    SWEEP_STORAGE_FIELD_NUMBER: _ClassVar[int]
    tag: _common_pb2.RequestTag
    repair: bool
    sweep_storage: bool
    def __init__(self, tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., repair: _Optional[bool] = ..., sweep_storage: _Optional[bool] = ...) -> None: ...

class FsckProblem(_message.Message):
    __slots__ = ("kind", "inode_id", "path", "detail", "repaired")
    KIND_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    kind: str
    inode_id: int
    path: str
    detail: str
    repaired: bool
    def __init__(self, kind: _Optional[str] = ..., inode_id: _Optional[int] = ..., path: _Optional[str] = ..., detail: _Optional[str] = ..., repaired: _Optional[bool] = ...) -> None: ...

class FsckResponse(_message.Message):
    __slots__ = ("inodes", "directories", "entries", "problems", "problems_truncated")
    INODES_FIELD_NUMBER: _ClassVar[int]
    DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    inodes: int
    directories: int
    entries: int
    problems: _containers.RepeatedCompositeFieldContainer[FsckProblem]
    problems_truncated: bool
    def __init__(self, inodes: _Optional[int] = ..., directories: _Optional[int] = ..., entries: _Optional[int] = ..., problems: _Optional[_Iterable[_Union[FsckProblem, _Mapping]]] = ..., problems_truncated: _Optional[bool] = ...) -> None: ...

class HelloRequest(_message.Message):
    __slots__ = ("payload",)
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ...) -> None: ...

class HelloResponse(_message.Message):
    __slots__ = ("payload",)
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ...) -> None: ...

class WriteSession(_message.Message):
    __slots__ = ("session_id", "inode_id", "client_id", "open_mode", "opened_unix_ms", "lease_expires_unix_ms", "length_hint", "truncate_count", "parent", "name", "replaces_inode_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_MODE_FIELD_NUMBER: _ClassVar[int]
    OPENED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_HINT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPLACES_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    inode_id: int
    client_id: bytes
    open_mode: OpenMode
    opened_unix_ms: int
    lease_expires_unix_ms: int
    length_hint: int
    truncate_count: int
    parent: int
    name: str
    replaces_inode_id: int
    def __init__(self, session_id: _Optional[int] = ..., inode_id: _Optional[int] = ..., client_id: _Optional[bytes] = ..., open_mode: _Optional[_Union[OpenMode, str]] = ..., opened_unix_ms: _Optional[int] = ..., lease_expires_unix_ms: _Optional[int] = ..., length_hint: _Optional[int] = ..., truncate_count: _Optional[int] = ..., parent: _Optional[int] = ..., name: _Optional[str] = ..., replaces_inode_id: _Optional[int] = ...) -> None: ...

class RemovalRecord(_message.Message):
    __slots__ = ("inode_id", "layout", "length", "not_before_unix_ms", "reason")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    layout: _common_pb2.Layout
    length: int
    not_before_unix_ms: int
    reason: str
    def __init__(self, inode_id: _Optional[int] = ..., layout: _Optional[_Union[_common_pb2.Layout, _Mapping]] = ..., length: _Optional[int] = ..., not_before_unix_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class IdempotencyRecord(_message.Message):
    __slots__ = ("client_id", "request_id", "method", "first_attempt_unix_ms", "committed_unix_ms", "status", "response")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    client_id: bytes
    request_id: int
    method: str
    first_attempt_unix_ms: int
    committed_unix_ms: int
    status: _common_pb2.Status
    response: bytes
    def __init__(self, client_id: _Optional[bytes] = ..., request_id: _Optional[int] = ..., method: _Optional[str] = ..., first_attempt_unix_ms: _Optional[int] = ..., committed_unix_ms: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.Status, _Mapping]] = ..., response: _Optional[bytes] = ...) -> None: ...
