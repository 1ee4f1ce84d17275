"""The `slab` layout: large files of fixed page slots, the layout 3FS-backed caches use.

A slab is one flyfs file, `<model dir>/slabs/<writer>-<serial>-s<slot>-n<slots>.slab`,
whose chunk size is its slot size (the page size rounded up to a power of
two), so every slot is one chunk and a page write is one whole-chunk update:

    [ tag 0 | tag 1 | ... | tag n-1 | padding ][ slot 0 ][ slot 1 ] ... [ slot n-1 ]
      64 bytes each, one slot long in all         one chunk each

Concurrency: each process writes only slabs it created (`xb`, with its own
random writer id), filling their slots in order, each slot once; so no two
processes ever allocate the same slot and no slot is ever reused.  A put
is reserve/confirm: the pages go into their slots first, then their tags
(the index of the slab); a crash in between leaves slots without tags,
which nobody can find.  Readers build key -> (slab, slot) from the tag
areas of every slab (re-reading only slabs that were not full), and
verify the tag and the page's CRC after every read.

Capacity and LRU: a slab's reserved size counts from its creation.  When
a new slab would pass the capacity, the least recently used slabs (by
mtime, which gets refresh in the background) are renamed into `trash/`
(atomic: of two processes evicting one slab, one wins and only it counts
the space as freed) and removed, leaving room for one more slab than the
new one, which another process may be creating at the same moment (so
two writers stay under the cap; each further one may pass it by a slab,
an eighth of the capacity).  Slabs a put is still filling are never
evicted, and one put keeps at most a third of the capacity (its leading
pages), so a long prompt cannot evict its own head.  A slab left in the
trash by an evicting process that died is removed a minute later by the
next eviction.  Eviction is per slab, so a hot page in an evicted slab is
a miss once, and is put again into a new slab.  A forked child takes a
writer id of its own before its first put.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from flyfs.client.filesystem import FlyfsFileSystem
from flyfs.layout import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE

from .file_pages import remove_files
from .inodes import InodeCache
from .lru import Toucher
from .tags import TAG_BYTES, encode_tag, tag_key, tag_matches

Buffer = bytearray | memoryview

_NAME = re.compile(r"(?P<writer>[0-9a-f]+)-(?P<serial>\d+)-s(?P<slot>\d+)-n(?P<slots>\d+)\.slab")
MAX_SLOTS = 1024
TRASH_GRACE_S = 60.0  # a slab this long in the trash was left there by a crash
SLABS_PER_CAPACITY = 8  # a slab is about this share of the capacity: eviction's grain


def _writer_id() -> str:
    return f"{os.getpid():x}{os.urandom(4).hex()}"


def slot_size(page_bytes: int) -> int:
    """The page size rounded up to a power of two that flyfs takes as a chunk size."""
    size = max(MIN_CHUNK_SIZE, 1 << max(0, page_bytes - 1).bit_length())
    if size > MAX_CHUNK_SIZE:
        raise ValueError(
            f"a page of {page_bytes} bytes exceeds the largest slot ({MAX_CHUNK_SIZE})"
        )
    return size


@dataclass
class Slab:
    name: str
    slot_bytes: int
    slots: int
    generation: int
    tagged: set[int] = field(default_factory=set)  # slots whose tag this process has seen

    @classmethod
    def parse(cls, name: str) -> Slab | None:
        match = _NAME.fullmatch(name)
        if match is None:
            return None
        generation = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        return cls(name, int(match["slot"]), int(match["slots"]), generation)

    @property
    def tag_area(self) -> int:
        """Bytes before slot 0: the tags, padded to a whole slot (chunk)."""
        return -(-self.slots * TAG_BYTES // self.slot_bytes) * self.slot_bytes

    @property
    def reserved_bytes(self) -> int:
        return self.tag_area + self.slots * self.slot_bytes

    def data_offset(self, slot: int) -> int:
        return self.tag_area + slot * self.slot_bytes

    @property
    def full(self) -> bool:
        return len(self.tagged) == self.slots


class SlabPages:
    def __init__(self, fs: FlyfsFileSystem, directory: str, capacity_bytes: int) -> None:
        self.fs = fs
        self.slabs_dir = f"{directory}/slabs"
        self.trash_dir = f"{directory}/trash"
        self.capacity = capacity_bytes
        self.toucher = Toucher(fs)
        self.inodes = InodeCache(fs)
        self._pid = os.getpid()
        self.writer = _writer_id()
        self._serial = 0
        self._known: dict[str, Slab] = {}
        self._index: dict[bytes, tuple[str, int]] = {}  # key -> (slab name, slot)
        self._own: Slab | None = None  # the slab this process fills now
        self._next_slot = 0
        self._allocating = asyncio.Lock()  # puts from several threads share `_own`
        self._filling: set[str] = set()  # slabs puts are writing now: never evicted

    def _path(self, name: str) -> str:
        return f"{self.slabs_dir}/{name}"

    # ---- finding pages ---------------------------------------------------------------------

    async def refresh(self) -> None:
        """Learn the slabs and tags other processes wrote since the last look."""
        known_before = set(self._known)  # a slab made while the listing runs is not gone
        try:
            names = [n.rsplit("/", 1)[-1] for n in await self.fs._ls(self.slabs_dir, detail=False)]
        except FileNotFoundError:
            names = []
        present = set(names)
        for name in known_before - present:
            if self._own is None or name != self._own.name:
                self._forget(name)
        unread = []
        for name in names:
            slab = self._known.get(name) or Slab.parse(name)
            if slab is None:
                continue
            self._known[name] = slab
            mine = self._own is not None and name == self._own.name
            if not slab.full and not mine:
                unread.append(slab)
        if unread:
            await self._read_tags(unread)

    async def _read_tags(self, slabs: list[Slab]) -> None:
        areas = [bytearray(s.slots * TAG_BYTES) for s in slabs]
        counts = await self.fs._cat_ranges_into(
            [self._path(s.name) for s in slabs], [0] * len(slabs), areas, on_error="return"
        )
        for slab, area, count in zip(slabs, areas, counts, strict=True):
            if isinstance(count, BaseException) or self._known.get(slab.name) is not slab:
                continue  # evicted meanwhile (the next refresh forgets it), or forgotten
            view = memoryview(area)
            for slot in range(min(slab.slots, count // TAG_BYTES)):
                found = tag_key(view[slot * TAG_BYTES : (slot + 1) * TAG_BYTES])
                if found is not None and found[1] == slab.generation:
                    if slot not in slab.tagged:  # the slab grew: its remembered length is old
                        self.inodes.forget(self._path(slab.name))
                    slab.tagged.add(slot)
                    self._index[found[0]] = (slab.name, slot)

    def _forget(self, name: str) -> None:
        self._known.pop(name, None)
        self.inodes.forget(self._path(name))
        self._index = {k: v for k, v in self._index.items() if v[0] != name}
        if self._own is not None and self._own.name == name:
            self._own = None

    async def exists(self, keys: Sequence[bytes]) -> list[bool]:
        """From this process's index; other processes' new slabs are looked for only when
        a key is not in it (a slab evicted since is a miss at `get`)."""
        if not all(k in self._index for k in keys):
            await self.refresh()
        return [k in self._index for k in keys]

    async def get(self, keys: Sequence[bytes], into: Sequence[Buffer]) -> list[bool]:
        """Pages read into the caller's buffers (0 copies); False = miss,
        also for every page if storage cannot be read (the caller recomputes)."""
        if any(k not in self._index for k in keys):
            await self.refresh()
        views = [memoryview(b).cast("B") for b in into]
        tags = [bytearray(TAG_BYTES) for _ in keys]
        paths, starts, dests = [], [], []
        asked: list[tuple[int, Slab]] = []  # taken now: the index may change while reading
        for i, (key, view, tag) in enumerate(zip(keys, views, tags, strict=True)):
            where = self._index.get(key)
            slab = self._known.get(where[0]) if where is not None else None
            if where is None or slab is None:
                continue
            paths += [self._path(slab.name)] * 2
            starts += [slab.data_offset(where[1]), where[1] * TAG_BYTES]
            dests += [view, tag]
            asked.append((i, slab))
        counts = await self.inodes.read(paths, starts, dests)
        if counts is None:
            return [False] * len(keys)
        hits = [False] * len(keys)
        used = []
        for n, (i, slab) in enumerate(asked):
            read, tagged = counts[2 * n], counts[2 * n + 1]
            whole = read == views[i].nbytes and tagged == TAG_BYTES
            hits[i] = whole and tag_matches(tags[i], keys[i], slab.generation, views[i])
            path = self._path(slab.name)
            if not hits[i]:
                self.inodes.forget(path)  # a short read: the slab's length may be old
            elif (mtime_ns := self.inodes.mtime_ns(path)) is not None:
                used.append((path, mtime_ns))
        self.toucher.touch(used)
        return hits

    # ---- putting pages ---------------------------------------------------------------------

    async def put(self, keys: Sequence[bytes], pages: Sequence[Buffer]) -> None:
        """Pages into slots of this process's slabs.  One put keeps at most a third of
        the capacity (the leading pages: a prefix's head matters most)."""
        views = [memoryview(p).cast("B") for p in pages]
        placed: dict[str, tuple[Slab, list[tuple[int, bytes, memoryview]]]] = {}
        budget = self.capacity // 3
        try:
            for key, view in zip(keys, views, strict=True):
                budget -= slot_size(view.nbytes)
                if budget < 0:
                    break
                slab, slot = await self._reserve(view.nbytes)
                if slab.name not in placed:
                    self._filling.add(slab.name)  # not to be evicted by this very put
                    placed[slab.name] = (slab, [])
                placed[slab.name][1].append((slot, key, view))
            await asyncio.gather(*(self._fill(slab, items) for slab, items in placed.values()))
        finally:
            self._filling.difference_update(placed)

    async def _reserve(self, page_bytes: int) -> tuple[Slab, int]:
        """The next free slot of this process's slab, a new slab if it is full or too small."""
        async with self._allocating:
            if self._pid != os.getpid():  # a forked child: its own writer id and slabs
                self._pid, self.writer, self._own = os.getpid(), _writer_id(), None
            own = self._own
            if own is None or self._next_slot >= own.slots or page_bytes > own.slot_bytes:
                own = await self._new_slab(slot_size(page_bytes))
            slot = self._next_slot
            self._next_slot += 1
            return own, slot

    async def _new_slab(self, slot_bytes: int) -> Slab:
        slots = max(1, min(MAX_SLOTS, self.capacity // SLABS_PER_CAPACITY // slot_bytes))
        self._serial += 1
        name = f"{self.writer}-{self._serial}-s{slot_bytes}-n{slots}.slab"
        slab = Slab.parse(name)
        assert slab is not None
        if slab.reserved_bytes * 3 > self.capacity:
            raise ValueError(
                f"capacity {self.capacity} bytes holds fewer than three slabs of"
                f" {slab.reserved_bytes} bytes ({slot_bytes}-byte slots)"
            )
        await self._make_room(slab.reserved_bytes)
        await self.fs._pipe_file(self._path(name), b"", mode="create", chunk_size=slot_bytes)
        self._known[name] = slab
        self._own, self._next_slot = slab, 0
        return slab

    async def _fill(self, slab: Slab, items: list[tuple[int, bytes, memoryview]]) -> None:
        """Reserve (the pages into their slots), then confirm (their tags).

        The slab may be evicted while it is filled (by another process, or by
        this put making room for its next slab): its pages are then not
        cached, as if evicted at once.
        """
        path = self._path(slab.name)
        tags = {slot: encode_tag(k, slab.generation, v) for slot, k, v in items}
        try:
            await self.fs._write_at(path, [(slab.data_offset(slot), v) for slot, _, v in items])
            await self.fs._write_at(path, _runs(tags))
        except FileNotFoundError:
            self._forget(slab.name)
            return
        self.inodes.forget(path)  # it grew
        if slab.name in self._known:
            for slot, key, _ in items:
                slab.tagged.add(slot)
                self._index[key] = (slab.name, slot)

    async def delete(self, keys: Sequence[bytes]) -> None:
        """Zero the pages' tags: their slots are never found again (nor reused)."""
        by_slab: dict[str, list[tuple[int, bytes]]] = {}
        for key in keys:
            where = self._index.pop(key, None)
            if where is not None:
                by_slab.setdefault(where[0], []).append((where[1] * TAG_BYTES, bytes(TAG_BYTES)))
        for name, writes in by_slab.items():
            try:
                await self.fs._write_at(self._path(name), writes)
            except FileNotFoundError:
                self._forget(name)  # evicted: gone already

    # ---- capacity --------------------------------------------------------------------------

    async def used_bytes(self) -> int:
        """Reserved bytes of every slab."""
        try:
            names = await self.fs._ls(self.slabs_dir, detail=False)
        except FileNotFoundError:
            return 0
        slabs = [Slab.parse(n.rsplit("/", 1)[-1]) for n in names]
        return sum(s.reserved_bytes for s in slabs if s is not None)

    async def _make_room(self, incoming: int) -> None:
        """Evict least recently used slabs until `incoming` more bytes fit the capacity."""
        await self._sweep_trash()
        try:
            entries = await self.fs._ls(self.slabs_dir, detail=True)
        except FileNotFoundError:
            return
        slabs = [(e, Slab.parse(e["name"].rsplit("/", 1)[-1])) for e in entries]
        slabs = [(e, s) for e, s in slabs if s is not None]
        used = sum(s.reserved_bytes for _, s in slabs)
        slabs.sort(key=lambda pair: pair[0]["mtime"])
        # Room for one more slab than this one: another process may be making one now.
        limit = self.capacity - incoming
        doomed = []
        for _, slab in slabs:  # bounded by the listing
            if used + incoming <= limit:
                break
            if slab.name in self._filling:
                continue
            if await self._to_trash(slab.name):
                doomed.append(f"{self.trash_dir}/{slab.name}")
            used -= slab.reserved_bytes  # gone either way: by us or by another process
            self._forget(slab.name)
        await remove_files(self.fs, doomed)

    async def _to_trash(self, name: str) -> bool:
        """Move a slab out of sight; False if another process did first."""
        try:
            await self.fs._mv(self._path(name), f"{self.trash_dir}/{name}")
        except FileNotFoundError:
            if not await self.fs._exists(self.trash_dir):
                raise  # not a lost race: the trash directory itself is missing
            return False
        return True

    async def _sweep_trash(self) -> None:
        """Remove slabs left in the trash by an evicting process that died before its `rm`."""
        try:
            entries = await self.fs._ls(self.trash_dir, detail=True)
        except FileNotFoundError:
            await self.fs._makedirs(self.trash_dir, exist_ok=True)
            return
        old = time.time() - TRASH_GRACE_S
        await remove_files(self.fs, [e["name"] for e in entries if e.get("mtime", 0) < old])


def _runs(tags: dict[int, bytes]) -> list[tuple[int, bytes]]:
    """Tags of consecutive slots joined into one write each: one chunk update, not one a tag."""
    runs: list[tuple[int, bytes]] = []
    for slot in sorted(tags):
        offset = slot * TAG_BYTES
        if runs and runs[-1][0] + len(runs[-1][1]) == offset:
            runs[-1] = (runs[-1][0], runs[-1][1] + tags[slot])
        else:
            runs.append((offset, tags[slot]))
    return runs
