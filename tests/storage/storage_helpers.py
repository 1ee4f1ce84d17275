"""Helpers shared by the chunk engine tests."""

from __future__ import annotations

from flyfs.storage.chunk_store import ChunkStore

CHUNK = 4 << 20


def put(store: ChunkStore, cid: bytes, offset: int, data: bytes, **kw) -> int:
    """Write at the next version and commit it; returns the version."""
    info = store.meta(cid)
    ver = (info.commit_ver if info else 0) + 1
    kw.setdefault("chunk_size", CHUNK)
    r = store.write(cid, offset, data, update_ver=ver, **kw)
    assert not r.duplicate
    store.commit(cid, ver)
    return ver
