"""gRPC glue shared by every flyfs server: the error table applied to calls.

A servicer method wrapped with `@grpc_method` turns a raised FlyfsError
into its gRPC status plus the exact flyfs code in trailing metadata (so the
client rebuilds the same exception); bad input the handler rejects with
TypeError/ValueError becomes INVALID_ARGUMENT; anything else is a bug: it is
logged with its traceback and answered INTERNAL, and the server keeps going.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from flyfs import errors
from flyfs.errors import Code, FlyfsError

log = logging.getLogger(__name__)

R = TypeVar("R")

# Large enough for a StatMany of many thousand paths or a page of a listing,
# small enough that one request cannot exhaust a server.
MAX_MESSAGE_BYTES = 64 << 20

SERVER_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
)


def to_flyfs_error(exc: BaseException) -> FlyfsError:
    """What the caller is told about `exc`."""
    if isinstance(exc, FlyfsError):
        return exc
    if isinstance(exc, (TypeError, ValueError)):
        return errors.error(Code.INVALID_ARGUMENT, str(exc))
    return errors.error(errors.code_of(exc), f"{type(exc).__name__}: {exc}")


def grpc_method(
    handler: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]:
    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        try:
            return await handler(self, request, context)
        except (FlyfsError, TypeError, ValueError) as exc:
            failure = to_flyfs_error(exc)
        except Exception as exc:
            log.exception("%s failed", handler.__name__)
            failure = to_flyfs_error(exc)
        await context.abort(
            errors.grpc_status(failure.code),
            str(failure),
            trailing_metadata=errors.grpc_trailers(failure),
        )
        raise AssertionError("context.abort always raises")

    return wrapper
