"""Fixtures for the chunk engine tests: a fresh target per test."""

from __future__ import annotations

import pytest

from flyfs.layout import chunk_id
from flyfs.storage.chunk_store import ChunkStore


@pytest.fixture
def store(tmp_path) -> ChunkStore:
    # fsync off: SIGKILL safety needs only the renames; the crash test runs with it on.
    return ChunkStore(str(tmp_path / "target"), fsync=False)


@pytest.fixture
def cid() -> bytes:
    return chunk_id(7, 3)
