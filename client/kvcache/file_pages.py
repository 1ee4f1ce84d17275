"""The `file` layout: one flyfs file per page, `<model dir>/pages/<key hex>`.

A page file is the page's bytes then its 64-byte tag, written under a
temporary name (`.<key hex>.<writer>`) and renamed into place, so a crash
mid-put leaves at worst a temporary file (which ages out through eviction
like any page) and never half a page under its key.  A get reads each
page straight into the caller's buffer and its tag into a small one,
every page of the call in one batched read (one request per storage node).

Capacity and LRU, safe for several processes: use is the sum of the
directory's file sizes (`du`).  A put goes out in slices of at most 5 %
of the capacity; before each, this process reserves the slice and
measures again once it has added 5 % unseen or nears 80 %, evicting down
to 60 %.  So each process has at most 10 % of the capacity unseen by the
others, and two stay under the cap.  Eviction removes the least recently
used files by mtime, which gets refresh (in the background, when older
than 10 s).  Two processes evicting at once may both remove a page: the
later `rm` finds it gone, and a get of it is a miss.  One put keeps at
most 60 % of the capacity: pages past that are not stored.
"""

from __future__ import annotations

import asyncio
import os
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
        self.writer = os.urandom(6).hex()  # names this process's temporary files
        self._measured = -1  # bytes `du` said last; -1 before the first look
        self._added = 0  # bytes this process reserved since
        self._room = asyncio.Lock()  # one reservation at a time

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
        """Each page read into its buffer (0 copies); False where it is missing or fails its
        tag, and for every page if storage cannot be read (the caller recomputes)."""
        views = [memoryview(b).cast("B") for b in into]
        tags = [bytearray(TAG_BYTES) for _ in keys]
        paths, starts, dests = [], [], []
        for key, view, tag in zip(keys, views, tags, strict=True):
            paths += [self.path(key)] * 2
            starts += [0, view.nbytes]
            dests += [view, tag]
        counts = await self.inodes.read(paths, starts, dests)
        if counts is None:
            return [False] * len(keys)
        hits = []
        for i, (key, view, tag) in enumerate(zip(keys, views, tags, strict=True)):
            read, tagged = counts[2 * i], counts[2 * i + 1]
            whole = read == view.nbytes and tagged == TAG_BYTES
            hits.append(whole and tag_matches(tag, key, GENERATION, view))
            if not hits[-1]:
                self.inodes.forget(self.path(key))
        used = [
            (p, self.inodes.mtime_ns(p)) for p, hit in zip(paths[::2], hits, strict=True) if hit
        ]
        self.toucher.touch((p, m) for p, m in used if m is not None)
        return hits

    async def put(self, keys: Sequence[bytes], pages: Sequence[Buffer]) -> None:
        views = [memoryview(p).cast("B") for p in pages]
        kept, total = 0, 0
        for view in views:  # the leading pages that one put may hold
            if total + view.nbytes + TAG_BYTES > self.capacity * LOW_WATER:
                break
            total += view.nbytes + TAG_BYTES
            kept += 1
        limit = max(1.0, self.capacity * REMEASURE_SHARE)
        at = 0
        while at < kept:  # bounded: every slice takes at least one page
            size, end = 0, at
            while end < kept and (end == at or size + views[end].nbytes + TAG_BYTES <= limit):
                size += views[end].nbytes + TAG_BYTES
                end += 1
            async with self._room:
                await self._make_room(size)
                self._added += size  # reserved before writing: this process's puts see it
            await asyncio.gather(*(self._put_one(keys[i], views[i]) for i in range(at, end)))
            at = end

    async def _put_one(self, key: bytes, view: memoryview) -> None:
        tag = encode_tag(key, GENERATION, view)

        async def fill(inode: meta_pb2.Inode) -> int:
            # One write of page and tag together: 1 copy (tens of microseconds for a
            # page) where two writes of the same chunk went one after the other, each
            # replicated and fsynced on every node.
            await self.fs._write_inode(inode, 0, memoryview(b"".join((view, tag))))
            return view.nbytes + TAG_BYTES

        temporary = f"{self.directory}/.{key.hex()}.{self.writer}"
        await self.fs._write_file(temporary, "wb", fill)
        rename = meta_pb2.RenameRequest(src=temporary, dst=self.path(key), parents=True)
        await self.fs._meta("Rename", rename)  # atomic; replaces a page put meanwhile
        self.inodes.forget(self.path(key))

    async def delete(self, keys: Sequence[bytes]) -> None:
        paths = [self.path(k) for k in keys]
        for path in paths:
            self.inodes.forget(path)
        await remove_files(self.fs, paths)

    async def used_bytes(self) -> int:
        """The pages' bytes, from one listing (sizes come with it; a page evicted while
        it is listed counts 0)."""
        return sum(e["size"] for e in await self._listing())

    async def _listing(self) -> list[dict]:
        try:
            return await self.fs._ls(self.directory, detail=True)
        except FileNotFoundError:
            return []

    async def _make_room(self, incoming: int) -> None:
        """Keep `du` of the pages under the capacity (see the module docstring)."""
        stale = self._measured < 0 or self._added + incoming > self.capacity * REMEASURE_SHARE
        entries = None
        if stale or self._measured + self._added + incoming > self.capacity * HIGH_WATER:
            entries = await self._listing()  # measures, and names the victims if needed
            self._measured, self._added = sum(e["size"] for e in entries), 0
        used = self._measured + self._added
        if used + incoming <= self.capacity * HIGH_WATER:
            return
        if entries is None:
            entries = await self._listing()
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
