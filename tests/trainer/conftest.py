"""One local cluster per module (tests/client's fixtures), and a small corpus on it and on disk.

The corpus is 1 MiB of CPython's text in 8 shards, written to flyfs with
64 KiB chunks (so windows cross chunk boundaries) and to a local
directory, from the same token stream, which tests keep as the truth.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from flyfs.cluster import LocalCluster
from flyfs.trainer.corpus import build_tokens, write_corpus
from tests.client.conftest import CHUNK, base, fs, local_cluster

__all__ = ["base", "fs", "local_cluster"]

CORPUS_BYTES = 1 << 20
SHARDS = 8


@dataclass(frozen=True)
class Corpus:
    tokens: bytes  # the whole stream, shards laid end to end
    local: str  # a local directory
    remote: str  # a flyfs:// URL naming the cluster
    options: dict[str, int]  # storage options the remote copy was written with


@pytest.fixture(scope="module")
def corpus(local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    tokens, documents = build_tokens(CORPUS_BYTES)
    local = str(tmp_path_factory.mktemp("corpus") / "corpus")
    remote = f"flyfs://{local_cluster.mgmtd_address}/corpus-{uuid.uuid4().hex[:8]}"
    options = {"chunk_size": CHUNK}
    write_corpus(local, tokens, documents, SHARDS)
    write_corpus(remote, tokens, documents, SHARDS, options)
    assert Path(local, "index.json").exists()
    return Corpus(tokens, local, remote, options)
