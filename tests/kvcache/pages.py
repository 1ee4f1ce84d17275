"""Test pages: each key's own content, so a page returned under the wrong key shows."""

from __future__ import annotations

import hashlib


def page_for(key: bytes, size: int) -> bytes:
    seed = hashlib.sha256(key).digest()
    return (seed * (size // len(seed) + 1))[:size]
