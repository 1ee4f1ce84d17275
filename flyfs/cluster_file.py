"""`cluster.json`: how clients find a cluster, and how the launcher finds its processes.

Split from the launcher (`flyfs.cluster`) so that resolving a cluster, as
every client and `flyfs df` do, does not import the launcher, its mgmtd
client or the services' configs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flyfs import errors
from flyfs.config import flyfs_home
from flyfs.errors import Code
from flyfs.process import is_running, stop_process, write_json_atomic

HOST = "127.0.0.1"
CLUSTER_FILE = "cluster.json"
FORMAT_VERSION = 1
STOP_TIMEOUT_S = 10.0  # SIGTERM → SIGKILL
META_NODE_ID = 1000  # storage nodes are 1..999: an id mgmtd picked for meta could clash


@dataclass(frozen=True)
class Layout:
    nodes: int = 3
    targets_per_node: int = 2
    replicas: int = 3

    def check(self) -> None:
        """Refuse a layout mgmtd could not build chains from, before anything starts."""
        if self.nodes < 1 or self.targets_per_node < 1 or self.replicas < 1:
            raise errors.error(Code.INVALID_ARGUMENT, f"every count must be ≥ 1: {self}")
        if self.nodes >= META_NODE_ID or self.targets_per_node > 99:
            raise errors.error(
                Code.INVALID_ARGUMENT,
                f"at most {META_NODE_ID - 1} nodes of 99 targets (target ids are"
                f" node * 100 + k); got {self}",
            )
        if self.nodes < self.replicas:
            raise errors.error(
                Code.INVALID_ARGUMENT,
                f"chains of {self.replicas} replicas need at least {self.replicas} storage"
                f" nodes (replicas live on distinct nodes); got {self.nodes}",
            )

    def target_ids(self, node_id: int) -> list[int]:
        return [node_id * 100 + k for k in range(1, self.targets_per_node + 1)]


@dataclass(frozen=True)
class ProcessRecord:
    """One process as `cluster.json` names it; (pid, start_time) identifies it."""

    name: str
    service: str
    pid: int
    start_time: int
    ports: dict[str, int]
    log: str
    config: str

    def alive(self) -> bool:
        return is_running(self.pid, self.start_time)

    def address(self, port: str) -> str:
        return f"{HOST}:{self.ports[port]}"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM (then SIGKILL) it if it still runs; False if it did not (nothing signalled)."""
        return stop_process(self.pid, self.start_time, timeout_s)


@dataclass
class ClusterFile:
    """`DIR/cluster.json`: how clients reach the cluster and how `down` finds its processes."""

    cluster_id: str
    mgmtd: str  # host:port, the cluster's name (DESIGN.md)
    layout: Layout
    processes: list[ProcessRecord]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClusterFile:
        try:
            raw = json.loads(Path(path).read_bytes())
            return cls(
                cluster_id=raw["cluster_id"],
                mgmtd=raw["mgmtd"],
                layout=Layout(**raw["layout"]),
                processes=[ProcessRecord(**p) for p in raw["processes"]],
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise errors.error(
                Code.INVALID_ARGUMENT,
                f"not a cluster file ({type(exc).__name__}: {exc})",
                str(path),
            ) from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        record = dataclasses.asdict(self)
        record["format"] = FORMAT_VERSION
        write_json_atomic(path, record)

    def process(self, name: str) -> ProcessRecord:
        return next(p for p in self.processes if p.name == name)


def cluster_file_path(directory: str | os.PathLike[str] | None = None) -> Path:
    return Path(directory or flyfs_home()) / CLUSTER_FILE


def resolve_cluster(spec: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The mgmtd address a client should use, resolved as DESIGN.md orders it.

    `spec` (an option or URL netloc), then `FLYFS_CLUSTER`, then
    `$FLYFS_HOME/cluster.json`; each a `host:port` or a cluster file's path.
    """
    env = os.environ if env is None else env
    spec = spec or env.get("FLYFS_CLUSTER") or str(cluster_file_path(flyfs_home(env)))
    return spec if _is_address(spec) else load_cluster_file(spec).mgmtd


def load_cluster_file(path: str | os.PathLike[str]) -> ClusterFile:
    """:meth:`ClusterFile.load`, with a missing file explained to a user."""
    try:
        return ClusterFile.load(path)
    except FileNotFoundError:
        raise errors.error(
            Code.NOT_FOUND,
            "no cluster file: start a cluster with `flyfs cluster up`, or name one"
            " (--cluster or FLYFS_CLUSTER: mgmtd's HOST:PORT or a cluster file)",
            str(path),
        ) from None


def _is_address(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return bool(sep and host and "/" not in text and port.isdigit())
