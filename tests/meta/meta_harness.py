"""Start real meta servers as processes, and talk to them as the client will.

`MetaCaller` tags every mutation and turns failures back into flyfs
exceptions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import grpc

from flyfs import errors
from flyfs.config import dump_config
from flyfs.kv import KvConfig
from flyfs.meta.config import MetaConfig
from flyfs.process import ServerProcess, spawn_server, stop_process, wait_ready_file
from flyfs.proto import meta_pb2, meta_pb2_grpc
from flyfs.request_tags import RequestTagger

READY_TIMEOUT_S = 30


@dataclass
class MetaServer:
    proc: ServerProcess
    port: int
    start_time: int
    dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc.pid, self.start_time, timeout_s=10)
        self.proc.wait(timeout=10)
        self.proc.close_parent_pipe()


def start_meta(directory: Path, name: str = "meta", **overrides) -> MetaServer:
    directory.mkdir(parents=True, exist_ok=True)
    config = MetaConfig(
        kv=KvConfig(sqlite_path=str(directory / "kv.db")),
        ready_file=str(directory / f"{name}.ready"),
        log_file=str(directory / f"{name}.log"),
        chains=[1, 2, 3, 4, 5, 6],
        **overrides,
    )
    config_path = directory / f"{name}.toml"
    config_path.write_text(dump_config(config))
    Path(config.ready_file).unlink(missing_ok=True)
    proc = spawn_server(
        [sys.executable, "-m", "flyfs.meta", "--config", str(config_path)],
        log_path=directory / f"{name}.stdout",
    )
    ready = wait_ready_file(config.ready_file, READY_TIMEOUT_S, proc)
    return MetaServer(proc, ready["ports"]["grpc"], ready["start_time"], directory)


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
