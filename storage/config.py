"""The storage node's config file (`python -m flyfs.storage --config FILE`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StorageConfig:
    cluster_id: str = "flyfs"
    node_id: int = 1
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port, reported in the ready file
    ready_file: str = ""
    log_file: str = ""
    log_level: str = "INFO"
    # One directory per target; `target_ids[i]` names `targets[i]`.
    targets: list[str] = field(default_factory=list)
    target_ids: list[int] = field(default_factory=list)
    # mgmtd's gRPC address ("host:port"): the node registers, heartbeats and takes its
    # chains from routing.  Empty: a node run alone, where `chain_ids[i]` is served by
    # `targets[i]` alone, a chain of one replica.
    mgmtd: str = ""
    chain_ids: list[int] = field(default_factory=list)
    # A forward to a successor that takes longer fails the update (it stays pending and
    # is re-forwarded by the next update of the chunk or the client's retry).
    forward_timeout_s: float = 30.0
    # Threads doing chunk file I/O (reads open files, writes fsync).
    io_threads: int = 8
    # Event loops serving data-plane connections (0: one per CPU, at most 4);
    # connections are dealt to them in turn (flyfs.net.server).
    data_loops: int = 0
    fsync: bool = True
    # Resync pushes at most this many bytes a second (0: no limit), so a returning
    # node does not take the disks and network from client I/O.
    resync_bytes_per_s: int = 0
    scrub_bytes_per_s: int = 32 << 20
    scrub_interval_s: float = 60.0
    max_inflight_per_connection: int = 64
    # Payload bytes (buffer size classes) all connections together may hold while
    # requests are received and served; a write past it is answered UNAVAILABLE.
    max_receive_bytes: int = 1 << 30
    # Chunk files reads may hold open until their replies are sent (0: half the
    # descriptor limit); past it a range is answered UNAVAILABLE.
    max_read_fds: int = 0
