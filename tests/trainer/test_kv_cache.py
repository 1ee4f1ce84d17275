"""Prefill on K/V pages loaded from flyfs gives the logits of recomputing the prompt."""

from __future__ import annotations

import random

import pytest
import torch

from flyfs.client import FlyfsFileSystem, KVCacheStore
from flyfs.cluster import LocalCluster
from flyfs.trainer.generate import prefill
from flyfs.trainer.kv_pages import cached_prefill, kv_to_pages, page_bytes, pages_to_kv
from flyfs.trainer.model import ByteTransformer, ModelConfig


def _model() -> ByteTransformer:
    torch.manual_seed(0)
    return ByteTransformer(ModelConfig()).eval()


def test_pages_round_trip_the_kv_exactly() -> None:
    model = _model()
    tokens = torch.randint(0, 256, (1, 96), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        _, kv = model(tokens)
    pages = kv_to_pages(kv, 0, 3, model.config, 32)
    assert [len(p) for p in pages] == [page_bytes(model.config, 32)] * 3
    buffer = bytearray(b"".join(pages))
    for (k, v), (k2, v2) in zip(kv, pages_to_kv(buffer, 3, model.config, 32), strict=True):
        assert torch.equal(k, k2) and torch.equal(v, v2)


@pytest.mark.parametrize("layout", ["file", "slab"])
def test_a_cached_prefix_gives_the_logits_of_recompute(
    local_cluster: LocalCluster, layout: str
) -> None:
    fs = FlyfsFileSystem(cluster=local_cluster.mgmtd_address, skip_instance_cache=True)
    store = KVCacheStore(fs, f"byte-lm-{layout}", page_tokens=64, layout=layout)
    model = _model()
    rng = random.Random(3)
    shared = [rng.randrange(256) for _ in range(64 * 4)]
    first = [*shared, *(rng.randrange(256) for _ in range(40))]
    _, _, stats = cached_prefill(model, store, first)
    assert (stats.cached_pages, stats.spilled_pages) == (0, 4)
    second = [*shared, *(rng.randrange(256) for _ in range(70))]  # 5 full pages, 4 shared
    logits, kv, stats = cached_prefill(model, store, second)
    assert (stats.cached_pages, stats.computed_tokens, stats.spilled_pages) == (4, 70, 1)
    full_logits, full_kv = prefill(model, torch.tensor([second]))
    assert (logits[0, -1] - full_logits[0, -1]).abs().max() <= 1e-5
    assert (logits[0] - full_logits[0, 256:]).abs().max() <= 1e-5
    assert all((k - fk).abs().max() <= 1e-5 for (k, _), (fk, _) in zip(kv, full_kv, strict=True))
    # A prompt that is whole pages still computes its last page's tokens (for their logits).
    _, _, stats = cached_prefill(model, store, shared)
    assert (stats.cached_pages, stats.computed_tokens, stats.spilled_pages) == (3, 64, 0)


def test_a_page_missing_at_get_falls_back_to_computing_from_there(
    local_cluster: LocalCluster,
) -> None:
    fs = FlyfsFileSystem(cluster=local_cluster.mgmtd_address, skip_instance_cache=True)
    store = KVCacheStore(fs, "byte-lm-partial", page_tokens=64)
    model = _model()
    rng = random.Random(4)
    prompt = [rng.randrange(256) for _ in range(64 * 4 + 10)]
    cached_prefill(model, store, prompt)
    keys = store.keys(prompt)
    assert store.batch_exists(keys) == 4  # and this store remembers them
    fs.write_at(store._pages.path(keys[2]), [(100, b"rot")])  # present, but torn: a miss
    logits, _, stats = cached_prefill(model, store, prompt)
    assert (stats.cached_pages, stats.computed_tokens, stats.spilled_pages) == (2, 138, 2)
    full, _ = prefill(model, torch.tensor([prompt]))
    assert (logits[0, -1] - full[0, -1]).abs().max() <= 1e-5
    again, _, stats = cached_prefill(model, store, prompt)  # spilled again, whole
    assert stats.cached_pages == 4 and (again[0, -1] - full[0, -1]).abs().max() <= 1e-5
