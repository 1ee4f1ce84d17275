"""mgmtd's records in the KV: key builders, and the model as key → value records.

Keys (tags from `flyfs.kv.keys`):
    NODE + node id                  -> mgmtd.NodeInfo
    TARG + target id                -> mgmtd.TargetInfo
    CHAN + chain id                 -> mgmtd.ChainInfo
    CTBL + table id + version       -> mgmtd.ChainTable
    MGST + name                     -> cluster id (UTF-8) or a little-endian counter
                                       (routing_version, last_incarnation,
                                       last_node_id, last_target_id)

A change writes only the records that differ from what is stored
(:func:`diff`), and checks in the same transaction that the stored routing
version is the one this mgmtd last wrote, so a second mgmtd pointed at the
same KV fails loudly instead of interleaving versions.
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import ReadTransaction, Transaction, counter, read_counter
from flyfs.kv.keys import Tag, read_u64, tag_range, u64
from flyfs.proto import mgmtd_pb2

from .model import ClusterModel

CLUSTER_ID_KEY = Tag.MGMTD_STATE.value + b"cluster_id"
VERSION_KEY = Tag.MGMTD_STATE.value + b"routing_version"
_COUNTERS = ("last_incarnation", "last_node_id", "last_target_id")

Records = dict[bytes, bytes]


def node_key(node_id: int) -> bytes:
    return Tag.NODE.value + u64(node_id)


def target_key(target_id: int) -> bytes:
    return Tag.TARGET.value + u64(target_id)


def chain_key(chain_id: int) -> bytes:
    return Tag.CHAIN.value + u64(chain_id)


def table_key(table_id: int, version: int) -> bytes:
    return Tag.CHAIN_TABLE.value + u64(table_id) + u64(version)


def _counter_key(name: str) -> bytes:
    return Tag.MGMTD_STATE.value + name.encode()


def records(model: ClusterModel) -> Records:
    """Every record the model is stored as."""
    out = {
        CLUSTER_ID_KEY: model.cluster_id.encode(),
        VERSION_KEY: counter(model.routing_version),
    }
    out.update({_counter_key(name): counter(getattr(model, name)) for name in _COUNTERS})
    out.update({node_key(k): v.SerializeToString() for k, v in model.nodes.items()})
    out.update({target_key(k): v.SerializeToString() for k, v in model.targets.items()})
    out.update({chain_key(k): v.SerializeToString() for k, v in model.chains.items()})
    out.update({table_key(*k): v.SerializeToString() for k, v in model.tables.items()})
    return out


def diff(old: Records, new: Records) -> tuple[Records, list[bytes]]:
    """(records to set, keys to clear) that turn `old` into `new`."""
    sets = {k: v for k, v in new.items() if old.get(k) != v}
    return sets, [k for k in old if k not in new]


def write(tr: Transaction, expected_version: int, sets: Records, clears: list[bytes]) -> None:
    """Apply a diff if the KV is still at `expected_version` (0: never written)."""
    stored = read_counter(tr.get(VERSION_KEY))
    if stored != expected_version:
        raise error(
            Code.INTERNAL,
            f"the KV is at routing v{stored}, this mgmtd wrote v{expected_version}:"
            " is another mgmtd using the same KV?",
        )
    for key, value in sets.items():
        tr.set(key, value)
    for key in clears:
        tr.clear(key)


def load(tr: ReadTransaction) -> ClusterModel | None:
    """The stored model, or None for a KV mgmtd never wrote to."""
    raw_id = tr.get(CLUSTER_ID_KEY)
    if raw_id is None:
        return None
    model = ClusterModel(cluster_id=raw_id.decode())
    model.routing_version = read_counter(tr.get(VERSION_KEY))
    for name in _COUNTERS:
        setattr(model, name, read_counter(tr.get(_counter_key(name))))
    for key, value in tr.get_range(*tag_range(Tag.NODE)):
        model.nodes[read_u64(key, 4)] = mgmtd_pb2.NodeInfo.FromString(value)
    for key, value in tr.get_range(*tag_range(Tag.TARGET)):
        model.targets[read_u64(key, 4)] = mgmtd_pb2.TargetInfo.FromString(value)
    for key, value in tr.get_range(*tag_range(Tag.CHAIN)):
        model.chains[read_u64(key, 4)] = mgmtd_pb2.ChainInfo.FromString(value)
    for key, value in tr.get_range(*tag_range(Tag.CHAIN_TABLE)):
        model.tables[(read_u64(key, 4), read_u64(key, 12))] = mgmtd_pb2.ChainTable.FromString(value)
    return model
