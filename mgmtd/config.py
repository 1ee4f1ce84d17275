"""mgmtd's config file (`python -m flyfs.mgmtd --config FILE`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flyfs.kv import KvConfig


@dataclass
class MgmtdConfig:
    # Requests naming another cluster are refused (CLUSTER_MISMATCH); the KV
    # remembers the id it was first started with and refuses another.
    cluster_id: str = "flyfs"
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port, reported in the ready file
    ready_file: str = ""
    log_file: str = ""
    log_level: str = "INFO"
    kv: KvConfig = field(default_factory=lambda: KvConfig(sqlite_path="mgmtd-kv.db"))
    # Told to every node at registration: how often to heartbeat, and how
    # long mgmtd waits without one before it may act (the failover issue).
    heartbeat_interval_s: float = 1.0
    lease_s: float = 10.0
