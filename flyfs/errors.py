"""The one place where flyfs failures get their meaning.

Every failure that crosses a process boundary is a numbered status code.  The
table below gives each code its errno, the builtin exception callers already
catch, its gRPC status and whether the one retry loop may try again.  Codes
are banded per subsystem (as 3FS does) and never reused: add, deprecate.

    0       OK
    1xxx    transactional KV
    2xxx    wire: frames, connections, handshakes
    3xxx    namespace (meta)
    4xxx    chunks (storage)
    5xxx    routing and chains (mgmtd)
    9xxx    generic

Exceptions raised from a code subclass both :class:`FlyfsError` and the
builtin a caller would write (`except FileNotFoundError` works), like
aiohttp's connection errors subclassing `ConnectionResetError`.
"""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from enum import IntEnum

import grpc


class Code(IntEnum):
    OK = 0

    KV_CONFLICT = 1001
    KV_TOO_OLD = 1002
    KV_COMMIT_UNKNOWN = 1003
    KV_KEY_TOO_LARGE = 1004
    KV_VALUE_TOO_LARGE = 1005
    KV_TXN_TOO_LARGE = 1006
    KV_BUSY = 1007
    KV_CORRUPT = 1008
    KV_UNAVAILABLE = 1009
    KV_RETRIES_EXHAUSTED = 1010
    KV_USED_AFTER_COMMIT = 1011

    FRAME_BAD_MAGIC = 2001
    FRAME_BAD_VERSION = 2002
    FRAME_TOO_LARGE = 2003
    FRAME_BAD_HEADER = 2004
    HANDSHAKE_REFUSED = 2005
    CONNECTION_LOST = 2006

    NOT_FOUND = 3001
    EXISTS = 3002
    NOT_DIR = 3003
    IS_DIR = 3004
    NOT_EMPTY = 3005
    BAD_PATH = 3006
    NAME_TOO_LONG = 3007
    BUSY = 3008
    STALE = 3009
    PERMISSION = 3010
    SYMLINK_LOOP = 3011
    REQUEST_EXPIRED = 3012
    SESSION_EXPIRED = 3013
    CROSS_DEVICE = 3014

    CHUNK_NOT_FOUND = 4001
    CHECKSUM_MISMATCH = 4002
    NOT_COMMITTED = 4003
    STALE_VERSION = 4004
    VERSION_CONFLICT = 4005
    RETRY_UNKNOWN = 4006
    NO_SPACE = 4007
    BAD_RANGE = 4008

    ROUTING_STALE = 5001
    CHAIN_VERSION_MISMATCH = 5002
    TARGET_NOT_SERVING = 5003
    FENCED = 5004
    UNKNOWN_NODE = 5005
    CLUSTER_MISMATCH = 5006
    CHAIN_UNAVAILABLE = 5007

    INVALID_ARGUMENT = 9001
    INTERNAL = 9002
    UNAVAILABLE = 9003
    TIMEOUT = 9004
    NOT_SUPPORTED = 9005


@dataclass(frozen=True)
class CodeInfo:
    errno: int
    builtin: type[OSError]
    grpc_status: grpc.StatusCode
    retryable: bool


_S = grpc.StatusCode
_E = _errno

# code: (errno, builtin exception, gRPC status, retryable by the retry loop)
_TABLE: dict[Code, CodeInfo] = {
    Code.KV_CONFLICT: CodeInfo(_E.EAGAIN, BlockingIOError, _S.ABORTED, True),
    Code.KV_TOO_OLD: CodeInfo(_E.EAGAIN, BlockingIOError, _S.ABORTED, True),
    Code.KV_COMMIT_UNKNOWN: CodeInfo(_E.EIO, OSError, _S.UNAVAILABLE, False),
    Code.KV_KEY_TOO_LARGE: CodeInfo(_E.E2BIG, OSError, _S.INVALID_ARGUMENT, False),
    Code.KV_VALUE_TOO_LARGE: CodeInfo(_E.E2BIG, OSError, _S.INVALID_ARGUMENT, False),
    Code.KV_TXN_TOO_LARGE: CodeInfo(_E.E2BIG, OSError, _S.RESOURCE_EXHAUSTED, False),
    Code.KV_BUSY: CodeInfo(_E.EBUSY, OSError, _S.UNAVAILABLE, True),
    Code.KV_CORRUPT: CodeInfo(_E.EIO, OSError, _S.DATA_LOSS, False),
    Code.KV_UNAVAILABLE: CodeInfo(_E.ENOTSUP, OSError, _S.FAILED_PRECONDITION, False),
    Code.KV_RETRIES_EXHAUSTED: CodeInfo(_E.EAGAIN, BlockingIOError, _S.ABORTED, False),
    Code.KV_USED_AFTER_COMMIT: CodeInfo(_E.EINVAL, OSError, _S.INTERNAL, False),
    Code.FRAME_BAD_MAGIC: CodeInfo(_E.EPROTO, ConnectionError, _S.INVALID_ARGUMENT, False),
    Code.FRAME_BAD_VERSION: CodeInfo(_E.EPROTO, ConnectionError, _S.INVALID_ARGUMENT, False),
    Code.FRAME_TOO_LARGE: CodeInfo(_E.EMSGSIZE, ConnectionError, _S.INVALID_ARGUMENT, False),
    Code.FRAME_BAD_HEADER: CodeInfo(_E.EPROTO, ConnectionError, _S.INVALID_ARGUMENT, False),
    Code.HANDSHAKE_REFUSED: CodeInfo(
        _E.ECONNREFUSED, ConnectionRefusedError, _S.PERMISSION_DENIED, False
    ),
    Code.CONNECTION_LOST: CodeInfo(_E.ECONNRESET, ConnectionResetError, _S.UNAVAILABLE, True),
    Code.NOT_FOUND: CodeInfo(_E.ENOENT, FileNotFoundError, _S.NOT_FOUND, False),
    Code.EXISTS: CodeInfo(_E.EEXIST, FileExistsError, _S.ALREADY_EXISTS, False),
    Code.NOT_DIR: CodeInfo(_E.ENOTDIR, NotADirectoryError, _S.FAILED_PRECONDITION, False),
    Code.IS_DIR: CodeInfo(_E.EISDIR, IsADirectoryError, _S.FAILED_PRECONDITION, False),
    Code.NOT_EMPTY: CodeInfo(_E.ENOTEMPTY, OSError, _S.FAILED_PRECONDITION, False),
    Code.BAD_PATH: CodeInfo(_E.EINVAL, OSError, _S.INVALID_ARGUMENT, False),
    Code.NAME_TOO_LONG: CodeInfo(_E.ENAMETOOLONG, OSError, _S.INVALID_ARGUMENT, False),
    Code.BUSY: CodeInfo(_E.EBUSY, OSError, _S.FAILED_PRECONDITION, False),
    Code.STALE: CodeInfo(_E.ESTALE, OSError, _S.NOT_FOUND, False),
    Code.PERMISSION: CodeInfo(_E.EACCES, PermissionError, _S.PERMISSION_DENIED, False),
    Code.SYMLINK_LOOP: CodeInfo(_E.ELOOP, OSError, _S.FAILED_PRECONDITION, False),
    Code.REQUEST_EXPIRED: CodeInfo(_E.ETIMEDOUT, TimeoutError, _S.DEADLINE_EXCEEDED, False),
    Code.SESSION_EXPIRED: CodeInfo(_E.EIO, OSError, _S.FAILED_PRECONDITION, False),
    Code.CROSS_DEVICE: CodeInfo(_E.EXDEV, OSError, _S.FAILED_PRECONDITION, False),
    Code.CHUNK_NOT_FOUND: CodeInfo(_E.ENOENT, FileNotFoundError, _S.NOT_FOUND, False),
    Code.CHECKSUM_MISMATCH: CodeInfo(_E.EIO, OSError, _S.DATA_LOSS, False),
    Code.NOT_COMMITTED: CodeInfo(_E.EAGAIN, BlockingIOError, _S.UNAVAILABLE, True),
    Code.STALE_VERSION: CodeInfo(_E.ESTALE, OSError, _S.FAILED_PRECONDITION, False),
    Code.VERSION_CONFLICT: CodeInfo(_E.EIO, OSError, _S.ABORTED, False),
    Code.RETRY_UNKNOWN: CodeInfo(_E.EIO, OSError, _S.ABORTED, False),
    Code.NO_SPACE: CodeInfo(_E.ENOSPC, OSError, _S.RESOURCE_EXHAUSTED, False),
    Code.BAD_RANGE: CodeInfo(_E.EINVAL, OSError, _S.OUT_OF_RANGE, False),
    Code.ROUTING_STALE: CodeInfo(_E.EAGAIN, BlockingIOError, _S.UNAVAILABLE, True),
    Code.CHAIN_VERSION_MISMATCH: CodeInfo(_E.EAGAIN, BlockingIOError, _S.UNAVAILABLE, True),
    Code.TARGET_NOT_SERVING: CodeInfo(_E.EAGAIN, BlockingIOError, _S.UNAVAILABLE, True),
    Code.FENCED: CodeInfo(_E.EAGAIN, BlockingIOError, _S.UNAVAILABLE, True),
    Code.UNKNOWN_NODE: CodeInfo(_E.ENOENT, FileNotFoundError, _S.NOT_FOUND, False),
    Code.CLUSTER_MISMATCH: CodeInfo(
        _E.ECONNREFUSED, ConnectionRefusedError, _S.PERMISSION_DENIED, False
    ),
    Code.CHAIN_UNAVAILABLE: CodeInfo(_E.EIO, OSError, _S.UNAVAILABLE, False),
    Code.INVALID_ARGUMENT: CodeInfo(_E.EINVAL, OSError, _S.INVALID_ARGUMENT, False),
    Code.INTERNAL: CodeInfo(_E.EIO, OSError, _S.INTERNAL, False),
    Code.UNAVAILABLE: CodeInfo(_E.EHOSTUNREACH, ConnectionError, _S.UNAVAILABLE, True),
    Code.TIMEOUT: CodeInfo(_E.ETIMEDOUT, TimeoutError, _S.DEADLINE_EXCEEDED, True),
    Code.NOT_SUPPORTED: CodeInfo(_E.EOPNOTSUPP, OSError, _S.UNIMPLEMENTED, False),
}


def info(code: Code) -> CodeInfo:
    """The table row for `code`; a test pins that every code has one."""
    return _TABLE[code]


class FlyfsError(OSError):
    """Base of every flyfs failure; carries its :class:`Code` and errno.

    Construct through :func:`error` (or a subclass directly) so the builtin
    base, errno and message always agree with the table.
    """

    code: Code = Code.INTERNAL

    def __init__(self, message: str = "", path: str | None = None) -> None:
        num = _TABLE[self.code].errno
        text = f"{os.strerror(num)}: {message}" if message else os.strerror(num)
        if path is None:
            super().__init__(num, text)
        else:
            super().__init__(num, text, path)
        self.message = message

    @property
    def retryable(self) -> bool:
        return _TABLE[self.code].retryable

    def __reduce__(self):  # keep code, message and path through pickling (process pools)
        return (_rebuild, (int(self.code), self.message, self.filename))

    def __str__(self) -> str:
        where = f": {self.filename!r}" if self.filename is not None else ""
        return f"[{self.code.name}] {self.strerror}{where}"


def _rebuild(code: int, message: str, path: str | None) -> FlyfsError:
    return error(Code(code), message, path)


def _class_name(code: Code) -> str:
    return "".join(part.capitalize() for part in code.name.split("_")) + "Error"


_CLASSES: dict[Code, type[FlyfsError]] = {
    code: type(_class_name(code), (FlyfsError, row.builtin), {"code": code, "__module__": __name__})
    for code, row in _TABLE.items()
}
globals().update({cls.__name__: cls for cls in _CLASSES.values()})


def error_class(code: Code) -> type[FlyfsError]:
    return _CLASSES[code]


def error(code: Code, message: str = "", path: str | None = None) -> FlyfsError:
    """The exception for `code`, an instance of the builtin the table names."""
    return _CLASSES[code](message, path)


def code_of(exc: BaseException) -> Code:
    """The status code to send for `exc`; bare OSErrors map by errno."""
    if isinstance(exc, FlyfsError):
        return exc.code
    if isinstance(exc, OSError) and exc.errno is not None:
        return _BY_ERRNO.get(exc.errno, Code.INTERNAL)
    if isinstance(exc, (TypeError, ValueError)):
        return Code.INVALID_ARGUMENT
    return Code.INTERNAL


# The first code listed for an errno is its canonical meaning.
_BY_ERRNO: dict[int, Code] = {}
for _code, _row in _TABLE.items():
    _BY_ERRNO.setdefault(_row.errno, _code)


# gRPC carries the flyfs code beside the status, so the client rebuilds the
# exact exception instead of guessing from the coarse gRPC status.
GRPC_CODE_KEY = "flyfs-code"
GRPC_PATH_KEY = "flyfs-path"


def grpc_trailers(exc: FlyfsError) -> tuple[tuple[str, str], ...]:
    pairs = [(GRPC_CODE_KEY, str(int(exc.code)))]
    if exc.filename is not None:
        pairs.append((GRPC_PATH_KEY, str(exc.filename)))
    return tuple(pairs)


def grpc_status(code: Code) -> grpc.StatusCode:
    return _TABLE[code].grpc_status


def from_grpc(rpc_error: grpc.RpcError) -> FlyfsError:
    """Rebuild the server's exception from a failed call; the original is `__cause__`."""
    trailers = dict(rpc_error.trailing_metadata() or ())
    raw = trailers.get(GRPC_CODE_KEY)
    if raw is not None and int(raw) in Code._value2member_map_:
        exc = error(Code(int(raw)), rpc_error.details() or "", trailers.get(GRPC_PATH_KEY))
    else:
        exc = error(_BY_GRPC.get(rpc_error.code(), Code.INTERNAL), rpc_error.details() or "")
    exc.__cause__ = rpc_error
    return exc


_BY_GRPC: dict[grpc.StatusCode, Code] = {
    _S.UNAVAILABLE: Code.UNAVAILABLE,
    _S.DEADLINE_EXCEEDED: Code.TIMEOUT,
    _S.NOT_FOUND: Code.NOT_FOUND,
    _S.ALREADY_EXISTS: Code.EXISTS,
    _S.INVALID_ARGUMENT: Code.INVALID_ARGUMENT,
    _S.PERMISSION_DENIED: Code.PERMISSION,
    _S.UNIMPLEMENTED: Code.NOT_SUPPORTED,
    _S.RESOURCE_EXHAUSTED: Code.NO_SPACE,
}
