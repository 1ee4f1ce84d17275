"""The meta server's config file (`python -m flyfs.meta --config FILE`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flyfs.kv import KvConfig


@dataclass
class MetaConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port, reported in the ready file
    ready_file: str = ""
    log_file: str = ""
    log_level: str = "INFO"
    kv: KvConfig = field(default_factory=KvConfig)
    # The cluster: mgmtd's "host:port".  Empty: standalone (the static chain
    # table below, no storage, statfs from capacity_bytes), as tests of the
    # namespace alone run it.
    mgmtd: str = ""
    cluster_id: str = "flyfs"
    node_id: int = 0  # 0: mgmtd assigns one
    name: str = "meta"
    routing_poll_s: float = 1.0
    # File layout defaults (a create may ask for others).
    chunk_size: int = 4 << 20
    stripe: int = 0  # 0: min(4, chains in the table)
    # The static chain table of a standalone server (no mgmtd).
    chains: list[int] = field(default_factory=lambda: [1])
    # Write sessions are leases: renewed by the client, pruned at lease + margin.
    session_lease_s: float = 30.0
    session_prune_margin_s: float = 5.0
    # Readers that opened an unlinked file keep reading it this long.
    gc_delay_s: float = 60.0
    janitor_interval_s: float = 1.0
    # At least 5x the client's total retry window (docs/interfaces.md).
    idempotency_retention_s: float = 600.0
    inode_id_batch: int = 4096
    list_limit_default: int = 1000
    list_limit_max: int = 10_000
    stat_many_max: int = 100_000
    # What statfs answers on a standalone server (with mgmtd: targets' space).
    capacity_bytes: int = 0
