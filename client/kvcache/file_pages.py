"""The `file` layout: one flyfs file per page, `<model dir>/pages/<key hex>`.

A page file is the page's bytes then its 64-byte tag, written in one `wb`
session: flyfs makes a `wb` file visible only at close, whole, so a crash
mid-put leaves no file rather than half of one.  A get reads each page
straight into the caller's buffer and its tag into a small one, every
page of the call in one batched read (one request per storage node).

Capacity and LRU, safe for several processes: use is the sum of the
directory's file sizes (`du`), measured again before this process adds
more than 5 % of the capacity unseen, or nears 80 % of it; eviction (to
60 %) removes the
least recently used files by mtime, which gets refresh (in the
background, at most once a second per page and process).  Two processes
evicting at once may both remove a page: the later `rm` finds it gone,
and a get of it is a miss.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from flyfs.client.filesystem import FlyfsFileSystem
from flyfs.proto import meta_pb2

from .inodes import InodeCache
from .lru import Toucher
from .tags import TAG_BYTES, encode_tag, tag_matches

Buffer = bytearray | memoryview

REMEASURE_SHARE = 0.05  # of the capacity this process may add before it measures again
# Evict when use would pass HIGH_WATER of the capacity, down to LOW_WATER.  The gap
# above HIGH_WATER is for another process's puts this one has not seen yet.
HIGH_WATER = 0.8
LOW_WATER = 0.6
GENERATION = 1  # a page file is written once under its key: no slot is ever reused


def model_dir(root: str, model_id: str) -> str:
    """The directory of one model's pages (ids with odd characters are made path-safe)."""
    return f"{root.rstrip('/')}/{re.sub(r'[^A-Za-z0-9._-]', '_', model_id)}"


class FilePages:
    def __init__(self, fs: FlyfsFileSystem, directory: str, capacity_bytes: int) -> None:
        self.fs = fs
        self.directory = f"{directory}/pages"
        self.capacity = capacity_bytes
        self.toucher = Toucher(fs)
        self.inodes = InodeCache(fs)
        self._measured = -1  # bytes `du` said last; -1 before the first look
        self._added = 0  # bytes this process put since

    def path(self, key: bytes) -> str:
        return f"{self.directory}/{key.hex()}"

    async def exists(self, keys: Sequence[bytes]) -> list[bool]:
        """From remembered inodes where this process has them (a page evicted since is a
        miss at `get`), else one StatMany."""
        paths = [self.path(k) for k in keys]
        if all(self.inodes.known(p) for p in paths):
            return [True] * len(paths)
        found = await self.inodes.resolve(paths)
        return [isinstance(found[p], meta_pb2.Inode) for p in paths]

    async def get(self, keys: Sequence[bytes], into: Sequence[Buffer]) -> list[bool]:
        """Each page read into its buffer (0 copies); False where it is missing or fails its tag."""
        views = [memoryview(b).cast("B") for b in into]
        tags = [bytearray(TAG_BYTES) for _ in keys]
        paths, starts, dests = [], [], []
        for key, view, tag in zip(keys, views, tags, strict=True):
            paths += [self.path(key)] * 2
            starts += [0, view.nbytes]
            dests += [view, tag]
        inodes = await self.inodes.resolve(paths)
        counts = await self.fs._cat_ranges_into(
            paths, starts, dests, on_error="return", inodes=inodes
        )
        hits = []
        for i, (key, view, tag) in enumerate(zip(keys, views, tags, strict=True)):
            read, tagged = counts[2 * i], counts[2 * i + 1]
            whole = read == view.nbytes and tagged == TAG_BYTES
            hits.append(whole and tag_matches(tag, key, GENERATION, view))
            if not hits[-1]:
                self.inodes.forget(self.path(key))
        self.toucher.touch(
            (p, inodes[p].mtime_ns)
            for p, hit in zip(paths[::2], hits, strict=True)
            if hit and isinstance(inodes[p], meta_pb2.Inode)
        )
        return hits

    async def put(self, keys: Sequence[bytes], pages: Sequence[Buffer]) -> None:
        views = [memoryview(p).cast("B") for p in pages]
        await self._make_room(sum(v.nbytes + TAG_BYTES for v in views))

        async def one(key: bytes, view: memoryview) -> None:
            tag = encode_tag(key, GENERATION, view)

            async def fill(inode: meta_pb2.Inode) -> int:
                # Page and tag straight from their buffers: 0 copies.
                await asyncio.gather(
                    self.fs._write_inode(inode, 0, view),
                    self.fs._write_inode(inode, view.nbytes, memoryview(tag)),
                )
                return view.nbytes + TAG_BYTES

            await self.fs._write_file(self.path(key), "wb", fill)

        await asyncio.gather(*(one(k, v) for k, v in zip(keys, views, strict=True)))
        self._added += sum(v.nbytes + TAG_BYTES for v in views)

    async def delete(self, keys: Sequence[bytes]) -> None:
        paths = [self.path(k) for k in keys]
        for path in paths:
            self.inodes.forget(path)
        await remove_files(self.fs, paths)

    async def used_bytes(self) -> int:
        """The pages' bytes, from one listing (sizes come with it; a page evicted while
        it is listed counts 0)."""
        try:
            return sum(e["size"] for e in await self.fs._ls(self.directory, detail=True))
        except FileNotFoundError:
            return 0

    async def _make_room(self, incoming: int) -> None:
        """Keep `du` of the pages under the capacity (see the module docstring)."""
        stale = self._measured < 0 or self._added + incoming > self.capacity * REMEASURE_SHARE
        if stale or self._measured + self._added + incoming > self.capacity * HIGH_WATER:
            self._measured, self._added = await self.used_bytes(), 0
        used = self._measured + self._added
        if used + incoming <= self.capacity * HIGH_WATER:
            return
        entries = await self.fs._ls(self.directory, detail=True)
        entries.sort(key=lambda e: e["mtime"])
        doomed = []
        for entry in entries:  # bounded by the listing
            if used + incoming <= self.capacity * LOW_WATER:
                break
            doomed.append(entry["name"])
            used -= entry["size"]
        for path in doomed:
            self.inodes.forget(path)
        await remove_files(self.fs, doomed)
        self._measured, self._added = max(0, used), 0


async def remove_files(fs: FlyfsFileSystem, paths: list[str]) -> None:
    """Remove files at once; one already gone (another process evicted it) is fine."""
    outcomes = await asyncio.gather(*(fs._rm_file(p) for p in paths), return_exceptions=True)
    failed = next(
        (
            o
            for o in outcomes
            if isinstance(o, BaseException) and not isinstance(o, FileNotFoundError)
        ),
        None,
    )
    if failed is not None:
        raise failed
