"""The KV-cache store: attention K/V of shared prompt prefixes, spilled to flyfs."""

from .keys import page_keys
from .store import KVCacheStore

__all__ = ["KVCacheStore", "page_keys"]
