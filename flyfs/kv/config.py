"""Which engine a process uses, as the `[kv]` section of its config file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flyfs.errors import Code, error

from .database import Database
from .sqlite_engine import SqliteEngine, SqliteOptions

ENGINES = ("sqlite", "foundationdb")


@dataclass
class KvConfig:
    engine: str = "sqlite"
    # The embedded engine's file; every process of one cluster names the same one.
    sqlite_path: str = "flyfs-kv.db"
    sqlite_busy_timeout_s: float = 10.0
    fdb_cluster_file: str = ""
    # Keeps one cluster's keys apart from others sharing a FoundationDB.
    fdb_key_prefix: str = ""
    # Threads that run transaction bodies for async callers.
    workers: int = 8


def open_database(config: KvConfig) -> Database:
    if config.engine == "sqlite":
        engine = SqliteEngine(
            SqliteOptions(Path(config.sqlite_path), busy_timeout_s=config.sqlite_busy_timeout_s)
        )
    elif config.engine == "foundationdb":
        from .fdb_engine import FdbEngine

        if not config.fdb_cluster_file:
            raise error(Code.INVALID_ARGUMENT, "kv.fdb_cluster_file must name a cluster file")
        engine = FdbEngine(config.fdb_cluster_file, key_prefix=config.fdb_key_prefix.encode())
    else:
        raise error(
            Code.INVALID_ARGUMENT, f"kv.engine is {config.engine!r}; expected one of {ENGINES}"
        )
    return Database(engine, workers=config.workers)
