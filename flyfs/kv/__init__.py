"""A transactional KV with FoundationDB's semantics, over two engines.

Nothing above this package imports an engine: services open a `Database`
from their `[kv]` config and hand it synchronous transaction bodies.

    db = open_database(KvConfig(sqlite_path="/var/lib/flyfs/kv.db"))
    def bump(tr: Transaction) -> int:
        n = read_counter(tr.get(b"n")) + 1
        tr.set(b"n", counter(n))
        return n
    db.run(bump)               # retried on conflict, at most once applied
    await db.run_async(bump)   # the same, from an event loop
"""

from .api import (
    KeyValue,
    ReadTransaction,
    Transaction,
    counter,
    key_after,
    prefix_end,
    read_counter,
)
from .config import KvConfig, open_database
from .database import Database
from .retry import RetryPolicy

__all__ = [
    "Database",
    "KeyValue",
    "KvConfig",
    "ReadTransaction",
    "RetryPolicy",
    "Transaction",
    "counter",
    "key_after",
    "open_database",
    "prefix_end",
    "read_counter",
]
