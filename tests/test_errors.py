"""The status-code table: every code has a meaning, and meanings survive the wire."""

from __future__ import annotations

import errno
import pickle

import grpc
import pytest

from flyfs import errors
from flyfs.errors import Code, FlyfsError, error


@pytest.mark.parametrize("code", [c for c in Code if c is not Code.OK])
def test_every_code_has_a_row_and_a_class(code):
    row = errors.info(code)
    exc = error(code, "why", "/a/b")
    assert isinstance(exc, FlyfsError) and isinstance(exc, row.builtin)
    assert exc.errno == row.errno and exc.code is code and exc.filename == "/a/b"
    assert code.name in str(exc) and "why" in str(exc) and "/a/b" in str(exc)


def test_codes_sit_in_their_subsystem_band():
    bands = {"KV_": 1, "FRAME_": 2, "HANDSHAKE": 2, "CONNECTION": 2}
    for code in Code:
        for prefix, band in bands.items():
            if code.name.startswith(prefix):
                assert code // 1000 == band, code


def test_callers_catch_builtins():
    with pytest.raises(FileNotFoundError):
        raise error(Code.NOT_FOUND, path="/missing")
    with pytest.raises(FileExistsError):
        raise error(Code.EXISTS)
    with pytest.raises(IsADirectoryError):
        raise error(Code.IS_DIR)
    with pytest.raises(ConnectionResetError):
        raise error(Code.CONNECTION_LOST)
    assert error(Code.NOT_EMPTY).errno == errno.ENOTEMPTY


def test_errors_pickle_with_code_and_path():
    exc = pickle.loads(pickle.dumps(error(Code.NAME_TOO_LONG, "name of 300 bytes", "/x")))
    assert (
        exc.code is Code.NAME_TOO_LONG
        and exc.filename == "/x"
        and exc.message == "name of 300 bytes"
    )


def test_plain_exceptions_map_to_codes():
    assert errors.code_of(FileNotFoundError(errno.ENOENT, "gone")) is Code.NOT_FOUND
    assert errors.code_of(TypeError("bad")) is Code.INVALID_ARGUMENT
    assert errors.code_of(RuntimeError("bug")) is Code.INTERNAL


class FakeRpcError(grpc.RpcError):
    def __init__(self, status, details, trailers=()):
        self._status, self._details, self._trailers = status, details, trailers

    def code(self):
        return self._status

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailers


def test_grpc_round_trip_keeps_the_exact_code():
    sent = error(Code.NOT_EMPTY, "directory has 3 entries", "/d")
    rpc = FakeRpcError(errors.grpc_status(sent.code), sent.message, errors.grpc_trailers(sent))
    got = errors.from_grpc(rpc)
    assert isinstance(got, OSError) and got.code is Code.NOT_EMPTY and got.filename == "/d"
    assert got.__cause__ is rpc


def test_grpc_error_without_trailers_maps_by_status():
    got = errors.from_grpc(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connect failed"))
    assert got.code is Code.UNAVAILABLE and got.retryable
