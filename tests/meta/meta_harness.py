"""Start real meta servers as processes, and talk to them as the client will.

`MetaCaller` tags every mutation and turns failures back into flyfs
exceptions.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from flyfs import errors
from flyfs.kv import KvConfig
from flyfs.launch import Launched, launch_service
from flyfs.meta.config import MetaConfig
from flyfs.proto import meta_pb2, meta_pb2_grpc
from flyfs.request_tags import RequestTagger


class MetaServer(Launched):
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port('grpc')}"


def start_meta(directory: Path, name: str = "meta", **overrides) -> MetaServer:
    config = MetaConfig(
        kv=KvConfig(sqlite_path=str(directory / "kv.db")),
        chains=[1, 2, 3, 4, 5, 6],
        **overrides,
    )
    launched = launch_service("meta", config, directory, name)
    return MetaServer(launched.proc, launched.ready, launched.dir)


class MetaCaller:
    """`call("Create", CreateRequest(...))`: tagged, and errors as flyfs exceptions."""

    def __init__(self, address: str, tagger: RequestTagger | None = None):
        self.channel = grpc.insecure_channel(address)
        self.stub = meta_pb2_grpc.MetaStub(self.channel)
        self.tagger = tagger or RequestTagger()

    def call(self, method: str, request, *, tag=None, timeout: float = 30):
        if "tag" in request.DESCRIPTOR.fields_by_name and not request.HasField("tag"):
            request.tag.CopyFrom(tag or self.tagger.tag())
        try:
            return getattr(self.stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise errors.from_grpc(exc) from None

    # Shorthands for the common calls.
    def stat(self, path: str, **kw) -> meta_pb2.Inode:
        return self.call("Stat", meta_pb2.StatRequest(ref=meta_pb2.InodeRef(path=path), **kw)).inode

    def mkdir(self, path: str, **kw) -> meta_pb2.Inode:
        return self.call("Mkdir", meta_pb2.MkdirRequest(path=path, **kw)).inode

    def create(self, path: str, **kw) -> meta_pb2.Inode:
        return self.call("Create", meta_pb2.CreateRequest(path=path, **kw)).inode

    def names(self, path: str) -> list[str]:
        found, cursor = [], b""
        for _ in range(100_000):
            page = self.call(
                "List", meta_pb2.ListRequest(dir=meta_pb2.InodeRef(path=path), cursor=cursor)
            )
            found.extend(e.name for e in page.entries)
            cursor = page.next_cursor
            if not cursor:
                return found
        raise AssertionError("listing did not end")

    def fsck(self) -> meta_pb2.FsckResponse:
        return self.call("Fsck", meta_pb2.FsckRequest())

    def close(self) -> None:
        self.channel.close()
