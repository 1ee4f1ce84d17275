"""Page keys: a key names a whole prefix, not one page's tokens.

`key_i = sha256(key_{i-1} ‖ token ids of page i)`, starting from a root
derived from the model id, so two prompts share a key exactly when they
share every token up to the end of that page, under the same model (as
vLLM's and LMCache's prefix hashes do).  Only full pages get keys: a
partial page is recomputed, never cached.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

KEY_BYTES = 32


def root_key(model_id: str) -> bytes:
    """The key before the first page: the model id's namespace."""
    return hashlib.sha256(b"flyfs-kvcache\0" + model_id.encode()).digest()


def page_keys(model_id: str, tokens: Sequence[int], page_tokens: int) -> list[bytes]:
    """One key per full page of `tokens` (token ids as unsigned 32-bit, little-endian)."""
    if page_tokens < 1:
        raise ValueError(f"page_tokens must be at least 1, got {page_tokens}")
    keys = []
    previous = root_key(model_id)
    for start in range(0, len(tokens) - page_tokens + 1, page_tokens):
        page = tokens[start : start + page_tokens]
        previous = hashlib.sha256(previous + struct.pack(f"<{page_tokens}I", *page)).digest()
        keys.append(previous)
    return keys
