from flyfs.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChunkState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHUNK_STATE_UNSPECIFIED: _ClassVar[ChunkState]
    CHUNK_STATE_COMMITTED: _ClassVar[ChunkState]
    CHUNK_STATE_PENDING: _ClassVar[ChunkState]
CHUNK_STATE_UNSPECIFIED: ChunkState
CHUNK_STATE_COMMITTED: ChunkState
CHUNK_STATE_PENDING: ChunkState

class RequestHeader(_message.Message):
    __slots__ = ("request_id", "timeout_ms", "hello", "read", "write", "commit", "remove", "truncate", "query_last_chunk", "list_chunks", "sync_done", "report_bad_chunk", "ping")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    QUERY_LAST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    LIST_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    SYNC_DONE_FIELD_NUMBER: _ClassVar[int]
    REPORT_BAD_CHUNK_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    timeout_ms: int
    hello: _common_pb2.Handshake
    read: ReadRequest
    write: WriteRequest
    commit: CommitRequest
    remove: RemoveRequest
    truncate: TruncateRequest
    query_last_chunk: QueryLastChunkRequest
    list_chunks: ListChunksRequest
    sync_done: SyncDoneRequest
    report_bad_chunk: ReportBadChunkRequest
    ping: PingRequest
    def __init__(self, request_id: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., hello: _Optional[_Union[_common_pb2.Handshake, _Mapping]] = ..., read: _Optional[_Union[ReadRequest, _Mapping]] = ..., write: _Optional[_Union[WriteRequest, _Mapping]] = ..., commit: _Optional[_Union[CommitRequest, _Mapping]] = ..., remove: _Optional[_Union[RemoveRequest, _Mapping]] = ..., truncate: _Optional[_Union[TruncateRequest, _Mapping]] = ..., query_last_chunk: _Optional[_Union[QueryLastChunkRequest, _Mapping]] = ..., list_chunks: _Optional[_Union[ListChunksRequest, _Mapping]] = ..., sync_done: _Optional[_Union[SyncDoneRequest, _Mapping]] = ..., report_bad_chunk: _Optional[_Union[ReportBadChunkRequest, _Mapping]] = ..., ping: _Optional[_Union[PingRequest, _Mapping]] = ...) -> None: ...

class ResponseHeader(_message.Message):
    __slots__ = ("request_id", "status", "routing_version", "hello", "read", "write", "commit", "remove", "truncate", "query_last_chunk", "list_chunks", "sync_done", "report_bad_chunk", "ping")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    QUERY_LAST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    LIST_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    SYNC_DONE_FIELD_NUMBER: _ClassVar[int]
    REPORT_BAD_CHUNK_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    status: _common_pb2.Status
    routing_version: int
    hello: _common_pb2.Handshake
    read: ReadResponse
    write: WriteResponse
    commit: CommitResponse
    remove: RemoveResponse
    truncate: WriteResponse
    query_last_chunk: QueryLastChunkResponse
    list_chunks: ListChunksResponse
    sync_done: SyncDoneResponse
    report_bad_chunk: ReportBadChunkResponse
    ping: PingResponse
    def __init__(self, request_id: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.Status, _Mapping]] = ..., routing_version: _Optional[int] = ..., hello: _Optional[_Union[_common_pb2.Handshake, _Mapping]] = ..., read: _Optional[_Union[ReadResponse, _Mapping]] = ..., write: _Optional[_Union[WriteResponse, _Mapping]] = ..., commit: _Optional[_Union[CommitResponse, _Mapping]] = ..., remove: _Optional[_Union[RemoveResponse, _Mapping]] = ..., truncate: _Optional[_Union[WriteResponse, _Mapping]] = ..., query_last_chunk: _Optional[_Union[QueryLastChunkResponse, _Mapping]] = ..., list_chunks: _Optional[_Union[ListChunksResponse, _Mapping]] = ..., sync_done: _Optional[_Union[SyncDoneResponse, _Mapping]] = ..., report_bad_chunk: _Optional[_Union[ReportBadChunkResponse, _Mapping]] = ..., ping: _Optional[_Union[PingResponse, _Mapping]] = ...) -> None: ...

class ReadRange(_message.Message):
    __slots__ = ("chunk_id", "chain", "offset", "length")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    chain: _common_pb2.VersionedChainId
    offset: int
    length: int
    def __init__(self, chunk_id: _Optional[bytes] = ..., chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class ReadRequest(_message.Message):
    __slots__ = ("ranges", "committed_on_pending")
    RANGES_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_ON_PENDING_FIELD_NUMBER: _ClassVar[int]
    ranges: _containers.RepeatedCompositeFieldContainer[ReadRange]
    committed_on_pending: bool
    def __init__(self, ranges: _Optional[_Iterable[_Union[ReadRange, _Mapping]]] = ..., committed_on_pending: _Optional[bool] = ...) -> None: ...

class ReadResult(_message.Message):
    __slots__ = ("status", "offset", "length", "commit_ver", "chunk_length", "checksum_block_size", "block_crc32c", "head_crc32c", "tail_crc32c")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CRC32C_FIELD_NUMBER: _ClassVar[int]
    HEAD_CRC32C_FIELD_NUMBER: _ClassVar[int]
    TAIL_CRC32C_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.Status
    offset: int
    length: int
    commit_ver: int
    chunk_length: int
    checksum_block_size: int
    block_crc32c: _containers.RepeatedScalarFieldContainer[int]
    head_crc32c: int
    tail_crc32c: int
    def __init__(self, status: _Optional[_Union[_common_pb2.Status, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., commit_ver: _Optional[int] = ..., chunk_length: _Optional[int] = ..., checksum_block_size: _Optional[int] = ..., block_crc32c: _Optional[_Iterable[int]] = ..., head_crc32c: _Optional[int] = ..., tail_crc32c: _Optional[int] = ...) -> None: ...

class ReadResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ReadResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ReadResult, _Mapping]]] = ...) -> None: ...

class WriteRequest(_message.Message):
    __slots__ = ("chunk_id", "chain", "offset", "length", "chunk_size", "payload_crc32c", "tag", "update_ver", "from_target_id", "full_chunk_replace", "install")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_CRC32C_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VER_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    FULL_CHUNK_REPLACE_FIELD_NUMBER: _ClassVar[int]
    INSTALL_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    chain: _common_pb2.VersionedChainId
    offset: int
    length: int
    chunk_size: int
    payload_crc32c: int
    tag: _common_pb2.RequestTag
    update_ver: int
    from_target_id: int
    full_chunk_replace: bool
    install: ChunkMeta
    def __init__(self, chunk_id: _Optional[bytes] = ..., chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., chunk_size: _Optional[int] = ..., payload_crc32c: _Optional[int] = ..., tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., update_ver: _Optional[int] = ..., from_target_id: _Optional[int] = ..., full_chunk_replace: _Optional[bool] = ..., install: _Optional[_Union[ChunkMeta, _Mapping]] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ("update_ver", "commit_ver", "chunk_length", "duplicate")
    UPDATE_VER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_LENGTH_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    update_ver: int
    commit_ver: int
    chunk_length: int
    duplicate: bool
    def __init__(self, update_ver: _Optional[int] = ..., commit_ver: _Optional[int] = ..., chunk_length: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class TruncateRequest(_message.Message):
    __slots__ = ("chunk_id", "chain", "length", "chunk_size", "tag", "update_ver", "from_target_id")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VER_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    chain: _common_pb2.VersionedChainId
    length: int
    chunk_size: int
    tag: _common_pb2.RequestTag
    update_ver: int
    from_target_id: int
    def __init__(self, chunk_id: _Optional[bytes] = ..., chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., length: _Optional[int] = ..., chunk_size: _Optional[int] = ..., tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., update_ver: _Optional[int] = ..., from_target_id: _Optional[int] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ("chunk_id", "chain", "commit_ver", "from_target_id")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    chain: _common_pb2.VersionedChainId
    commit_ver: int
    from_target_id: int
    def __init__(self, chunk_id: _Optional[bytes] = ..., chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., commit_ver: _Optional[int] = ..., from_target_id: _Optional[int] = ...) -> None: ...

class CommitResponse(_message.Message):
    __slots__ = ("commit_ver",)
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    commit_ver: int
    def __init__(self, commit_ver: _Optional[int] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("chain", "chunk_ids", "range_begin", "range_end", "limit", "tag", "from_target_id")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    CHUNK_IDS_FIELD_NUMBER: _ClassVar[int]
    RANGE_BEGIN_FIELD_NUMBER: _ClassVar[int]
    RANGE_END_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.VersionedChainId
    chunk_ids: _containers.RepeatedScalarFieldContainer[bytes]
    range_begin: bytes
    range_end: bytes
    limit: int
    tag: _common_pb2.RequestTag
    from_target_id: int
    def __init__(self, chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., chunk_ids: _Optional[_Iterable[bytes]] = ..., range_begin: _Optional[bytes] = ..., range_end: _Optional[bytes] = ..., limit: _Optional[int] = ..., tag: _Optional[_Union[_common_pb2.RequestTag, _Mapping]] = ..., from_target_id: _Optional[int] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ("removed", "more")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    removed: int
    more: bool
    def __init__(self, removed: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...

class LastChunkQuery(_message.Message):
    __slots__ = ("chain", "inode_id")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.VersionedChainId
    inode_id: int
    def __init__(self, chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., inode_id: _Optional[int] = ...) -> None: ...

class QueryLastChunkRequest(_message.Message):
    __slots__ = ("queries",)
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[LastChunkQuery]
    def __init__(self, queries: _Optional[_Iterable[_Union[LastChunkQuery, _Mapping]]] = ...) -> None: ...

class LastChunkResult(_message.Message):
    __slots__ = ("status", "chunk_id", "length", "commit_ver", "chunk_count")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.Status
    chunk_id: bytes
    length: int
    commit_ver: int
    chunk_count: int
    def __init__(self, status: _Optional[_Union[_common_pb2.Status, _Mapping]] = ..., chunk_id: _Optional[bytes] = ..., length: _Optional[int] = ..., commit_ver: _Optional[int] = ..., chunk_count: _Optional[int] = ...) -> None: ...

class QueryLastChunkResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[LastChunkResult]
    def __init__(self, results: _Optional[_Iterable[_Union[LastChunkResult, _Mapping]]] = ...) -> None: ...

class ClientSequence(_message.Message):
    __slots__ = ("client_id", "sequence")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    client_id: bytes
    sequence: int
    def __init__(self, client_id: _Optional[bytes] = ..., sequence: _Optional[int] = ...) -> None: ...

class ChunkMeta(_message.Message):
    __slots__ = ("chunk_id", "update_ver", "commit_ver", "chain_version", "state", "length", "crc32c", "checksum_block_size", "block_crc32c", "clients", "update_by", "update_payload_crc32c")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CRC32C_FIELD_NUMBER: _ClassVar[int]
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PAYLOAD_CRC32C_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    update_ver: int
    commit_ver: int
    chain_version: int
    state: ChunkState
    length: int
    crc32c: int
    checksum_block_size: int
    block_crc32c: _containers.RepeatedScalarFieldContainer[int]
    clients: _containers.RepeatedCompositeFieldContainer[ClientSequence]
    update_by: ClientSequence
    update_payload_crc32c: int
    def __init__(self, chunk_id: _Optional[bytes] = ..., update_ver: _Optional[int] = ..., commit_ver: _Optional[int] = ..., chain_version: _Optional[int] = ..., state: _Optional[_Union[ChunkState, str]] = ..., length: _Optional[int] = ..., crc32c: _Optional[int] = ..., checksum_block_size: _Optional[int] = ..., block_crc32c: _Optional[_Iterable[int]] = ..., clients: _Optional[_Iterable[_Union[ClientSequence, _Mapping]]] = ..., update_by: _Optional[_Union[ClientSequence, _Mapping]] = ..., update_payload_crc32c: _Optional[int] = ...) -> None: ...

class ListChunksRequest(_message.Message):
    __slots__ = ("chain", "begin", "end", "limit", "with_block_checksums")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WITH_BLOCK_CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.VersionedChainId
    begin: bytes
    end: bytes
    limit: int
    with_block_checksums: bool
    def __init__(self, chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., begin: _Optional[bytes] = ..., end: _Optional[bytes] = ..., limit: _Optional[int] = ..., with_block_checksums: _Optional[bool] = ...) -> None: ...

class ListChunksResponse(_message.Message):
    __slots__ = ("chunks", "next_begin")
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_BEGIN_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkMeta]
    next_begin: bytes
    def __init__(self, chunks: _Optional[_Iterable[_Union[ChunkMeta, _Mapping]]] = ..., next_begin: _Optional[bytes] = ...) -> None: ...

class SyncDoneRequest(_message.Message):
    __slots__ = ("chain", "target_id")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.VersionedChainId
    target_id: int
    def __init__(self, chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., target_id: _Optional[int] = ...) -> None: ...

class SyncDoneResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReportBadChunkRequest(_message.Message):
    __slots__ = ("chunk_id", "chain", "commit_ver", "bad_blocks")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    COMMIT_VER_FIELD_NUMBER: _ClassVar[int]
    BAD_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    chunk_id: bytes
    chain: _common_pb2.VersionedChainId
    commit_ver: int
    bad_blocks: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, chunk_id: _Optional[bytes] = ..., chain: _Optional[_Union[_common_pb2.VersionedChainId, _Mapping]] = ..., commit_ver: _Optional[int] = ..., bad_blocks: _Optional[_Iterable[int]] = ...) -> None: ...

class ReportBadChunkResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("sent_monotonic_ns",)
    SENT_MONOTONIC_NS_FIELD_NUMBER: _ClassVar[int]
    sent_monotonic_ns: int
    def __init__(self, sent_monotonic_ns: _Optional[int] = ...) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("sent_monotonic_ns",)
    SENT_MONOTONIC_NS_FIELD_NUMBER: _ClassVar[int]
    sent_monotonic_ns: int
    def __init__(self, sent_monotonic_ns: _Optional[int] = ...) -> None: ...
