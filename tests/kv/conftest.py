"""One conformance suite, every available engine (as FDB's binding tester does).

`kv_harness` is parametrized over the engines.  FoundationDB runs only when
`FLYFS_FDB_CLUSTER_FILE` names a cluster file; each test then works under a
fresh key prefix and clears it afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from flyfs.kv import Database, KvConfig, open_database
from flyfs.kv.api import EngineTransaction
from flyfs.kv.sqlite_engine import SqliteEngine, SqliteOptions


@dataclass
class Harness:
    config: KvConfig
    tmp: Path

    @property
    def engine(self) -> str:
        return self.config.engine

    def open(self) -> Database:
        return open_database(self.config)

    def open_small_log(self) -> Database:
        """A database whose conflict history is short, to reach the too-old horizon fast."""
        if self.engine == "sqlite":
            opts = SqliteOptions(Path(self.config.sqlite_path), log_max_versions=5, prune_every=1)
            return Database(SqliteEngine(opts))
        return self.open()

    def age_out(self, db: Database, tr: EngineTransaction) -> None:
        """Make `tr` older than the engine can check conflicts for."""
        if self.engine == "sqlite":
            for i in range(20):
                db.run(lambda t, i=i: t.set(b"age/%d" % i, b"x"))
        else:
            time.sleep(5.5)


@pytest.fixture(params=["sqlite", "foundationdb"])
def kv_harness(request, tmp_path: Path):
    if request.param == "sqlite":
        yield Harness(KvConfig(sqlite_path=str(tmp_path / "kv.db")), tmp_path)
        return
    cluster_file = os.environ.get("FLYFS_FDB_CLUSTER_FILE")
    if not cluster_file:
        pytest.skip("FoundationDB conformance needs FLYFS_FDB_CLUSTER_FILE (a cluster file)")
    prefix = f"flyfs-test/{uuid.uuid4().hex}/"
    config = KvConfig(engine="foundationdb", fdb_cluster_file=cluster_file, fdb_key_prefix=prefix)
    yield Harness(config, tmp_path)
    with open_database(config) as db:
        db.run(lambda tr: tr.clear_range(b"", b"\xff"))


@pytest.fixture
def db(kv_harness: Harness):
    with kv_harness.open() as database:
        yield database


def with_engine(config: KvConfig, **changes) -> KvConfig:
    return replace(config, **changes)
