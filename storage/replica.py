"""The local half of a CRAQ plan's effects: `Inspect`, `Stage`, `Commit` on a chunk store.

The service runs these on its I/O threads and `Forward` on the data plane;
the in-memory chain of the tests runs them directly, so both exercise the
same store calls.
"""

from __future__ import annotations

from .chunk_store import ChunkStore, UpdateResult
from .craq import Commit, Inspect, Outcome, Stage, Update, Versions


def _outcome(result: UpdateResult) -> Outcome:
    return Outcome(result.update_ver, result.commit_ver, result.length, result.duplicate)


def apply_local(store: ChunkStore, chunk_id: bytes, effect: Inspect | Stage | Commit) -> object:
    """The result a plan expects for a local effect on `chunk_id`."""
    if isinstance(effect, Inspect):
        return inspect(store, chunk_id)
    if isinstance(effect, Commit):
        return _outcome(store.commit(chunk_id, effect.version))
    return _outcome(stage(store, effect.update))


def inspect(store: ChunkStore, chunk_id: bytes) -> Versions:
    info = store.meta(chunk_id)
    if info is None or not info.pending:
        return Versions(info.commit_ver if info else 0, None)
    found = store.read_pending(chunk_id)
    if found is None:  # committed meanwhile (the caller holds the chunk's lock: not expected)
        info = store.meta(chunk_id)
        return Versions(info.commit_ver if info else 0, None)
    pending, commit_ver, data = found
    redo = Update(
        chunk_id,
        "write",
        pending.chunk_size,
        chain_version=pending.chain_ver,
        data=memoryview(data),
        client_id=pending.writer.client_id,
        sequence=pending.writer.sequence,
        full_chunk_replace=True,
        update_ver=pending.version,
    )
    return Versions(commit_ver, redo)


def stage(store: ChunkStore, u: Update) -> UpdateResult:
    if u.kind == "truncate":
        return store.truncate(
            u.chunk_id,
            u.length,
            update_ver=u.update_ver,
            chain_ver=u.chain_version,
            client_id=u.client_id,
            sequence=u.sequence,
            chunk_size=u.chunk_size,
            retry=u.retry,
        )
    return store.write(
        u.chunk_id,
        u.offset,
        u.data,
        update_ver=u.update_ver,
        chain_ver=u.chain_version,
        client_id=u.client_id,
        sequence=u.sequence,
        chunk_size=u.chunk_size,
        payload_crc=u.payload_crc,
        retry=u.retry,
        full_chunk_replace=u.full_chunk_replace,
    )
