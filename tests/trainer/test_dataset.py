"""Training windows read from flyfs are byte for byte the corpus, alone and in workers."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

from flyfs.trainer.corpus import read_index
from flyfs.trainer.dataset import SeededBatches, TokenWindows
from tests.trainer.conftest import SHARDS, Corpus

SEQ = 100
LOADER = Path(__file__).with_name("loader_worker.py")


def expected(corpus: Corpus, dataset: TokenWindows, item: int) -> bytes:
    """Item `item`'s window cut straight from the token stream."""
    shard, offset = dataset.locate(item)
    start = sum(s.tokens for s in dataset.index.shards[:shard]) + offset
    return corpus.tokens[start : start + SEQ + 1]


def test_index_is_the_same_everywhere(corpus: Corpus) -> None:
    _, _, local = read_index(corpus.local)
    _, _, remote = read_index(corpus.remote, corpus.options)
    assert remote == local
    assert len(remote.shards) == SHARDS and remote.tokens == len(corpus.tokens)


def test_windows_are_byte_exact(corpus: Corpus) -> None:
    remote = TokenWindows(corpus.remote, SEQ, corpus.options)
    local = TokenWindows(corpus.local, SEQ)
    assert len(remote) == len(local) == len(corpus.tokens) - SHARDS * SEQ
    # every shard's first and last window, and random ones (many cross 64 KiB chunks)
    edges = [f for f in remote.firsts[:-1]] + [f - 1 for f in remote.firsts[1:]]
    items = edges + random.Random(3).sample(range(len(remote)), 200)
    got = remote.__getitems__(items)
    assert [bytes(w) for w in got] == [bytes(w) for w in local.__getitems__(items)]
    assert [bytes(w) for w in got] == [expected(corpus, remote, i) for i in items]
    assert bytes(remote[items[-1]]) == expected(corpus, remote, items[-1])


def test_seeded_batches_depend_on_seed_and_step_only() -> None:
    whole = list(SeededBatches(10**6, 8, seed=5, first=0, last=6))
    assert list(SeededBatches(10**6, 8, seed=5, first=4, last=6)) == whole[4:]
    assert list(SeededBatches(10**6, 8, seed=6, first=0, last=6)) != whole
    assert all(len(b) == 8 and all(0 <= i < 10**6 for i in b) for b in whole)


def test_two_forked_workers_over_flyfs(corpus: Corpus) -> None:
    """In a fresh interpreter, as a training job runs: this one imported grpc long ago."""
    run = subprocess.run(
        [sys.executable, str(LOADER), corpus.remote, str(SEQ), "1", "12"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[0] == {"fork_support": True}
    remote = TokenWindows(corpus.remote, SEQ, corpus.options)
    sampler = SeededBatches(len(remote), 16, seed=1, first=0, last=12)
    assert len(lines) == 1 + 12 + 1
    for batch, items in zip(lines[1:-1], sampler, strict=True):
        assert batch["shape"] == [16, SEQ + 1] and batch["dtype"] == "torch.uint8"
        want = [expected(corpus, remote, i) for i in items]
        assert batch["sha256"] == hashlib.sha256(b"".join(want)).hexdigest()
    assert lines[-1]["parent_reads"] is True
