"""Malformed and hostile requests get a clear status; the server keeps serving."""

from __future__ import annotations

import grpc
import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.proto import meta_pb2


def raw_call(meta, method: str, payload: bytes) -> grpc.RpcError:
    call = meta.channel.unary_unary(f"/flyfs.meta.Meta/{method}")  # bytes in, bytes out
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, timeout=10)
    return caught.value


def still_serving(meta, base) -> None:
    assert meta.stat(base).type == meta_pb2.INODE_TYPE_DIRECTORY


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xff\xff\xff",  # a truncated varint tag
        b"\x12\xff\x01/abc",  # a length-delimited field longer than the message
        b"\x12\x03/\xff\xfe",  # path: not UTF-8
        bytes(range(256)) * 4,
    ],
)
def test_undecodable_requests_are_refused(meta, base, payload):
    err = raw_call(meta, "Create", payload)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid flyfs.meta.CreateRequest" in err.details()
    still_serving(meta, base)


def test_oversized_request_is_refused(meta, base):
    err = raw_call(meta, "Hello", b"\x0a" + b"\x80\x80\x80\x22" + b"x" * (68 << 20))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    still_serving(meta, base)


def test_huge_name_and_nul_are_typed_errors(meta, base):
    for path, code in [
        (f"{base}/" + "x" * 100_000, Code.NAME_TOO_LONG),
        (f"{base}/a\x00b", Code.BAD_PATH),
    ]:
        with pytest.raises(FlyfsError) as caught:
            meta.create(path)
        assert caught.value.code is code
    still_serving(meta, base)


def test_unknown_method_and_wrong_message_type(meta, base):
    assert raw_call(meta, "NoSuchCall", b"").code() == grpc.StatusCode.UNIMPLEMENTED
    # A ListRequest's bytes sent to Rename decode as a Rename with no paths.
    list_bytes = meta_pb2.ListRequest(limit=5).SerializeToString()
    assert raw_call(meta, "Rename", list_bytes).code() == grpc.StatusCode.INVALID_ARGUMENT
    still_serving(meta, base)


def test_inode_that_does_not_exist(meta, base):
    ref = meta_pb2.InodeRef(inode_id=2**63)
    with pytest.raises(FileNotFoundError):
        meta.call("Stat", meta_pb2.StatRequest(ref=ref))
    with pytest.raises(FileNotFoundError):
        meta.call("List", meta_pb2.ListRequest(dir=ref))
    with pytest.raises(FlyfsError) as caught:
        meta.call("Close", meta_pb2.CloseRequest(inode_id=2**63, session_id=1))
    assert caught.value.code is Code.SESSION_EXPIRED
    still_serving(meta, base)
