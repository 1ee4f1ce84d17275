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
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message

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


class Undecodable:
    """Stands in for a request whose bytes did not parse.

    gRPC would answer a deserializer's exception with a bare UNKNOWN; handing
    this to the handler instead lets `grpc_method` answer INVALID_ARGUMENT
    with a message that says what was wrong.
    """

    def __init__(self, type_name: str, reason: str):
        self.type_name, self.reason = type_name, reason


def _lenient(message_type: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def parse(data: bytes) -> Message | Undecodable:
        try:
            return message_type.FromString(data)
        except DecodeError as exc:
            return Undecodable(message_type.DESCRIPTOR.full_name, str(exc))

    return parse


def add_service(server: grpc.aio.Server, servicer: object, service: ServiceDescriptor) -> None:
    """Register `servicer`'s methods for `service`, as the generated `add_*_to_server` does,
    but with request parsing that never fails outside the handler."""
    handlers = {}
    for method in service.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=_lenient(request_type),
            response_serializer=response_type.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
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
            if isinstance(request, Undecodable):
                raise errors.error(
                    Code.INVALID_ARGUMENT,
                    f"request is not a valid {request.type_name}: {request.reason}",
                )
            return await handler(self, request, context)
        except (FlyfsError, TypeError, ValueError) as exc:
            failure = to_flyfs_error(exc)
        except Exception as exc:
            log.exception("%s failed", handler.__name__)
            failure = to_flyfs_error(exc)
        await context.abort(
            errors.grpc_status(failure.code),
            failure.message,
            trailing_metadata=errors.grpc_trailers(failure),
        )
        raise AssertionError("context.abort always raises")

    return wrapper
