"""The model's K/V as KV-cache pages, and prefill that reuses cached prefixes (issue 10).

A page holds `page_tokens` positions of every layer's keys and values:
float32 `[layers, 2 (k, v), heads, page_tokens, head_dim]`, C order.  The
bytes live in a `bytearray` that `torch.frombuffer` views, so turning K/V
into pages is one copy (the tensors' slices into the page buffer) and
turning loaded pages back is one copy (pages side by side into each
layer's contiguous K and V); the pages themselves travel to and from
flyfs without copies (`KVCacheStore.get_many` reads into the buffer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from flyfs.client import KVCacheStore
from flyfs.trainer.generate import prefill
from flyfs.trainer.model import KV, ByteTransformer, ModelConfig

# Loaded pages larger than this get a buffer of their own rather than the reused one.
REUSED_BUFFER_LIMIT = 64 << 20


class _LoadBuffer(threading.local):
    """Where `cached_prefill` loads pages: one buffer per thread, reused.

    A fresh buffer per prompt paid its page faults every time: about 2 ms
    for the 10 MiB of a 2,048-token prefix, a sixth of its reload.  Nothing
    returned aliases it: `pages_to_kv` copies out of it (a single page may
    stay a view, but `prefill` concatenates the past with at least one new
    position into new tensors), so it is free again at return.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()

    def take(self, size: int) -> bytearray:
        if size > REUSED_BUFFER_LIMIT:
            return bytearray(size)
        if len(self.buffer) < size:
            self.buffer = bytearray(size)
        return self.buffer


_load_buffer = _LoadBuffer()


def page_bytes(config: ModelConfig, page_tokens: int) -> int:
    head_dim = config.dim // config.heads
    return config.layers * 2 * config.heads * page_tokens * head_dim * 4


def _view(buffer: bytearray, pages: int, config: ModelConfig, page_tokens: int) -> torch.Tensor:
    """The first `pages` pages of `buffer` as a tensor (the buffer may hold more)."""
    head_dim = config.dim // config.heads
    floats = pages * page_bytes(config, page_tokens) // 4
    flat = torch.frombuffer(buffer, dtype=torch.float32, count=floats)
    return flat.view(pages, config.layers, 2, config.heads, page_tokens, head_dim)


def kv_to_pages(
    kv: list[KV], first: int, count: int, config: ModelConfig, page_tokens: int
) -> list[memoryview]:
    """Pages `first .. first + count - 1` of `kv` (batch row 0), one buffer for all."""
    size = page_bytes(config, page_tokens)
    buffer = bytearray(count * size)
    pages = _view(buffer, count, config, page_tokens)
    start, stop = first * page_tokens, (first + count) * page_tokens
    for layer, (k, v) in enumerate(kv):
        for which, tensor in ((0, k), (1, v)):
            part = tensor[0, :, start:stop, :]  # [heads, count * page_tokens, head_dim]
            part = part.reshape(config.heads, count, page_tokens, -1).transpose(0, 1)
            pages[:, layer, which].copy_(part)
    whole = memoryview(buffer)
    return [whole[i * size : (i + 1) * size] for i in range(count)]


def pages_to_kv(buffer: bytearray, count: int, config: ModelConfig, page_tokens: int) -> list[KV]:
    """The `past_kv` of the first `count` pages held side by side in `buffer`."""
    pages = _view(buffer, count, config, page_tokens)
    kv = []
    for layer in range(config.layers):
        pair = []
        for which in (0, 1):
            part = pages[:, layer, which]  # [count, heads, page_tokens, head_dim]
            joined = part.transpose(0, 1).reshape(config.heads, count * page_tokens, -1)
            pair.append(joined.unsqueeze(0))
        kv.append((pair[0], pair[1]))
    return kv


@dataclass(frozen=True)
class PrefillStats:
    cached_pages: int  # loaded from the store
    computed_tokens: int  # run through the model
    spilled_pages: int  # new full pages put into the store


@torch.no_grad()
def cached_prefill(
    model: ByteTransformer, store: KVCacheStore, tokens: list[int]
) -> tuple[torch.Tensor, list[KV], PrefillStats]:
    """Logits and K/V of the prompt `tokens`, computing only what the store lacks.

    Looks up the longest cached run of pages, loads it, prefills the rest
    (at least the last token, whose logits start generation) and spills
    the prompt's new full pages.
    """
    if not tokens:
        raise ValueError("the prompt must hold at least one token")
    config, page_tokens = model.config, store.page_tokens
    keys = store.keys(tokens)
    present = store.batch_exists(keys)
    wanted = min(present, (len(tokens) - 1) // page_tokens)
    cached = 0
    past = None
    if wanted:
        size = page_bytes(config, page_tokens)
        buffer = _load_buffer.take(wanted * size)
        whole = memoryview(buffer)
        into = [whole[i * size : (i + 1) * size] for i in range(wanted)]
        hits = store.get_many(keys[:wanted], into)
        cached = next((i for i, hit in enumerate(hits) if not hit), wanted)
        if cached:
            past = pages_to_kv(buffer, cached, config, page_tokens)
    rest = torch.tensor([tokens[cached * page_tokens :]])
    logits, kv = prefill(model, rest, past)
    # Pages the store has already (a prompt of whole pages loads all but its last) are
    # not put again; after a miss, everything from the miss on is.
    first_new = present if cached == wanted else cached
    new = len(keys) - first_new
    if new > 0:
        store.put_many(keys[first_new:], kv_to_pages(kv, first_new, new, config, page_tokens))
    return logits, kv, PrefillStats(cached, rest.shape[1], new)
