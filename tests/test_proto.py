"""The wire protocol: committed modules are current, and requests carry what retries need."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions

from flyfs.proto import common_pb2, data_pb2, meta_pb2, mgmtd_pb2

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def _gen_proto():
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_modules_match_a_fresh_generation(tmp_path: Path) -> None:
    gen = _gen_proto()
    fresh = {path.name: path.read_bytes() for path in gen.generate(tmp_path)}
    committed = {p.name: p.read_bytes() for p in PROTO_DIR.iterdir() if gen.is_generated(p)}
    differing = sorted(
        n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n)
    )
    assert not differing, f"generated modules are stale or missing: {differing}; run make proto"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in PROTO_DIR.glob("*.py") if p.stem.endswith(("_pb2", "_grpc")))
)
def test_generated_module_imports_from_the_package(name: str) -> None:
    module = importlib.import_module(f"flyfs.proto.{name}")
    assert Path(module.__file__).name == f"{name}.py"


def _field(message: Descriptor, name: str) -> FieldDescriptor:
    assert name in message.fields_by_name, f"{message.full_name} has no field {name!r}"
    return message.fields_by_name[name]


def _assert_message_field(message: Descriptor, name: str, expected: Descriptor) -> None:
    field = _field(message, name)
    assert field.message_type is expected, f"{message.full_name}.{name} is not {expected.name}"


META = meta_pb2.DESCRIPTOR.services_by_name["Meta"]
READ_ONLY_META_CALLS = {"Stat", "StatMany", "List", "Readlink", "Statfs", "Hello"}


def _without_side_effects(method) -> bool:
    return method.GetOptions().idempotency_level == MethodOptions.NO_SIDE_EFFECTS


def test_exactly_the_read_only_meta_calls_are_marked_without_side_effects() -> None:
    assert {m.name for m in META.methods if _without_side_effects(m)} == READ_ONLY_META_CALLS


MUTATING_META_CALLS = [m for m in META.methods if not _without_side_effects(m)]


@pytest.mark.parametrize("method", MUTATING_META_CALLS, ids=lambda m: m.name)
def test_every_mutating_meta_request_has_a_request_tag(method) -> None:
    _assert_message_field(method.input_type, "tag", common_pb2.RequestTag.DESCRIPTOR)
    assert _field(method.input_type, "tag").number == 1


@pytest.mark.parametrize(
    "request_type", [mgmtd_pb2.CreateChainsRequest, mgmtd_pb2.SetTargetStateRequest]
)
def test_mgmtd_admin_requests_have_a_request_tag(request_type) -> None:
    _assert_message_field(request_type.DESCRIPTOR, "tag", common_pb2.RequestTag.DESCRIPTOR)


def test_request_tag_has_client_id_request_id_sequence_and_first_attempt_time() -> None:
    fields = common_pb2.RequestTag.DESCRIPTOR.fields_by_name
    assert fields["client_id"].type == FieldDescriptor.TYPE_BYTES
    for name in ("request_id", "sequence"):
        assert fields[name].type == FieldDescriptor.TYPE_UINT64
    assert fields["first_attempt_unix_ms"].type == FieldDescriptor.TYPE_INT64


@pytest.mark.parametrize(
    "update", [data_pb2.WriteRequest, data_pb2.TruncateRequest, data_pb2.RemoveRequest]
)
def test_chain_updates_carry_chain_version_and_client_sequence(update) -> None:
    _assert_message_field(update.DESCRIPTOR, "chain", common_pb2.VersionedChainId.DESCRIPTOR)
    _assert_message_field(update.DESCRIPTOR, "tag", common_pb2.RequestTag.DESCRIPTOR)
    _field(update.DESCRIPTOR, "from_target_id")


def test_a_write_round_trips_chain_version_client_and_sequence() -> None:
    header = data_pb2.RequestHeader(request_id=9)
    write = header.write
    write.chunk_id = bytes(16)
    write.chain.chain_id, write.chain.chain_version = 4, 17
    write.tag.client_id, write.tag.sequence = b"\x01" * 16, 12345
    write.update_ver = 3
    decoded = data_pb2.RequestHeader.FromString(header.SerializeToString()).write
    assert (decoded.chain.chain_id, decoded.chain.chain_version) == (4, 17)
    assert (decoded.tag.client_id, decoded.tag.sequence) == (b"\x01" * 16, 12345)
    assert decoded.update_ver == 3


def test_reads_carry_chain_version() -> None:
    _assert_message_field(
        data_pb2.ReadRange.DESCRIPTOR, "chain", common_pb2.VersionedChainId.DESCRIPTOR
    )


def test_the_data_plane_handshake_names_cluster_and_node() -> None:
    _assert_message_field(
        data_pb2.RequestHeader.DESCRIPTOR, "hello", common_pb2.Handshake.DESCRIPTOR
    )
    fields = common_pb2.Handshake.DESCRIPTOR.fields_by_name
    assert {"cluster_id", "node_id", "node_type", "incarnation"} <= set(fields)


def test_each_response_body_has_its_request_body_number() -> None:
    request_body = data_pb2.RequestHeader.DESCRIPTOR.oneofs_by_name["body"].fields
    response = data_pb2.ResponseHeader.DESCRIPTOR.oneofs_by_name["body"].fields
    assert {(f.name, f.number) for f in request_body} == {(f.name, f.number) for f in response}
