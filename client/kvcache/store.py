"""`KVCacheStore`: attention K/V pages of shared prompt prefixes, spilled to flyfs.

An inference engine asks how much of a prompt's prefix is cached
(`batch_exists`), loads those pages into its own buffers (`get_many`),
computes the rest and spills the new full pages (`put_many`).  Pages are
opaque bytes here; `flyfs.trainer.kv_pages` turns the trainer's K/V
tensors into pages and back.  Two layouts (`file`, `slab`) share this
interface; their modules say how each stays safe with several processes.
Methods are synchronous, run on the filesystem's event loop (as fsspec's
sync methods are), and safe to call from several threads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeVar

import fsspec
from fsspec.asyn import sync

from flyfs.client.filesystem import FlyfsFileSystem

from .file_pages import FilePages, model_dir
from .keys import KEY_BYTES, page_keys
from .slab_pages import SlabPages

Buffer = bytearray | memoryview
Layout = Literal["file", "slab"]
DEFAULT_ROOT = "/kvcache"
T = TypeVar("T")


class KVCacheStore:
    def __init__(
        self,
        fs: FlyfsFileSystem | str,
        model_id: str,
        page_tokens: int = 64,
        capacity_bytes: int = 1 << 30,
        layout: Layout = "file",
        *,
        root: str = DEFAULT_ROOT,
    ) -> None:
        """`fs` a flyfs filesystem (pages under `root`) or a `flyfs://HOST:PORT/dir` URL
        (pages under its path)."""
        if isinstance(fs, str):
            fs, root = fsspec.url_to_fs(fs)
        if not isinstance(fs, FlyfsFileSystem):
            raise TypeError(f"the KV-cache store runs on flyfs, not {type(fs).__name__}")
        if page_tokens < 1 or capacity_bytes < 1:
            raise ValueError("page_tokens and capacity_bytes must be positive")
        self.fs = fs
        self.model_id = model_id
        self.page_tokens = page_tokens
        self.capacity_bytes = capacity_bytes
        self.layout = layout
        directory = model_dir(root or DEFAULT_ROOT, model_id)
        if layout == "file":
            self._pages: FilePages | SlabPages = FilePages(fs, directory, capacity_bytes)
        elif layout == "slab":
            self._pages = SlabPages(fs, directory, capacity_bytes)
        else:
            raise ValueError(f"layout is 'file' or 'slab', not {layout!r}")

    def keys(self, tokens: Sequence[int]) -> list[bytes]:
        """The key of every full page of `tokens` under this store's model."""
        return page_keys(self.model_id, tokens, self.page_tokens)

    def batch_exists(self, keys: Sequence[bytes]) -> int:
        """How many of `keys`, from the first, are cached: the cached prefix in pages."""
        _check_keys(keys)
        found = self._run(self._pages.exists, keys) if keys else []
        return next((i for i, hit in enumerate(found) if not hit), len(found))

    def get_many(self, keys: Sequence[bytes], into: Sequence[Buffer]) -> list[bool]:
        """Each page read into its buffer (sized exactly to the page); True where it was a
        hit.  A page missing, evicted, torn or under another key is a miss."""
        _check_keys(keys)
        if len(into) != len(keys):
            raise ValueError(f"{len(keys)} keys but {len(into)} buffers")
        return self._run(self._pages.get, keys, into) if keys else []

    def put_many(self, keys: Sequence[bytes], pages: Sequence[Buffer]) -> None:
        """Store pages under their keys; returns once every byte is on every replica."""
        _check_keys(keys)
        if len(pages) != len(keys):
            raise ValueError(f"{len(keys)} keys but {len(pages)} pages")
        if keys:
            self._run(self._pages.put, keys, pages)

    def delete(self, keys: Sequence[bytes]) -> None:
        _check_keys(keys)
        if keys:
            self._run(self._pages.delete, keys)

    def used_bytes(self) -> int:
        """What the model's pages take now (every process's), as eviction counts it."""
        return self._run(self._pages.used_bytes)

    def flush(self) -> None:
        """Wait for background recency updates (before measuring, or at exit)."""
        self._run(self._pages.toucher.drain)

    def _run(self, method: Callable[..., Awaitable[T]], *args: object) -> T:
        return sync(self.fs.loop, method, *args)


def _check_keys(keys: Sequence[bytes]) -> None:
    for key in keys:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"a page key is {KEY_BYTES} bytes (see KVCacheStore.keys)")
