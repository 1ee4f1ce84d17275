"""`flyfs://`: the fsspec filesystem users touch.

An `AsyncFileSystem`: the `_`-prefixed coroutines below are the
implementation and fsspec mirrors the sync methods, so bulk calls
(`cat_ranges`, `pipe`, `put`, `get`, `rm`) run concurrently.  Namespace
calls go to meta through one retrying method (`ControlPlane.meta`); bytes
go through `ChunkIO` straight to storage.

Semantics worth knowing:

- The cluster is resolved at construction, as DESIGN.md orders it (URL
  netloc, `cluster=`, `FLYFS_CLUSTER`, `$FLYFS_HOME/cluster.json`), and the
  resolved mgmtd address is what instances are cached and pickled by.
  Nothing connects until the first call, in the process that makes it.
- Listings are never cached: meta is the truth and is cheap to ask; `info`
  and `open(..., "rb")` always stat afresh.
- Writing creates missing parent directories (`auto_mkdir=True`, as object
  stores and fsspec's abstract tests expect); `auto_mkdir=False` gives
  POSIX's FileNotFoundError.
- `mv` is one meta rename (atomic, files and directories); onto an existing
  directory it moves *into* it, as `shutil.move` and LocalFileSystem do.
- Errors are flyfs exceptions, which subclass the builtins
  (`FileNotFoundError`, `IsADirectoryError`, `OSError` with its errno ...).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import posixpath
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from fsspec.asyn import AsyncFileSystem, get_loop, sync, sync_wrapper
from fsspec.config import apply_config
from fsspec.spec import _Cached

from flyfs.cluster_file import resolve_cluster
from flyfs.errors import Code, FlyfsError, error
from flyfs.net.buffers import new_bytes
from flyfs.proto import meta_pb2

from .chunk_io import RangeInto
from .link import ClusterLink
from .loops import DEFAULT_DATA_LOOPS
from .reader import FlyfsReadFile
from .transfers import Transfers
from .urls import PROTOCOL, normalize, split_url
from .writer import FlyfsWriteFile

T = TypeVar("T")

FILE = meta_pb2.INODE_TYPE_FILE
DIRECTORY = meta_pb2.INODE_TYPE_DIRECTORY
_TYPES = {FILE: "file", DIRECTORY: "directory", meta_pb2.INODE_TYPE_SYMLINK: "link"}
_OPEN_MODES = {
    "wb": meta_pb2.OPEN_MODE_WRITE,
    "xb": meta_pb2.OPEN_MODE_WRITE,
    "ab": meta_pb2.OPEN_MODE_APPEND,
}
# Sessions the client opens without a file object: "r+b" updates a file in place.
_SESSION_MODES = {**_OPEN_MODES, "r+b": meta_pb2.OPEN_MODE_UPDATE}
STAT_MANY_BATCH = 10_000


class _PerCluster(_Cached):
    """fsspec's instance cache, keyed by the *resolved* cluster (not by how it was named)."""

    def __call__(cls, *args: Any, **kwargs: Any):
        kwargs = apply_config(cls, kwargs)
        kwargs["cluster"] = resolve_cluster(kwargs.get("cluster"))
        return super().__call__(*args, **kwargs)


class FlyfsFileSystem(Transfers, AsyncFileSystem, metaclass=_PerCluster):
    protocol = PROTOCOL
    root_marker = "/"

    def __init__(
        self,
        *,
        cluster: str,
        auto_mkdir: bool = True,
        default_block_size: int | None = None,
        default_cache_type: str = "readahead",
        readahead_bytes: int = 64 << 20,
        max_concurrency: int = 8,
        data_loops: int = DEFAULT_DATA_LOOPS,
        max_connections_per_node: int = 4,
        control_threads: int = 8,
        timeout_s: float = 30.0,
        retry_window_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        chunk_size: int = 0,
        stripe: int = 0,
        **kwargs: Any,
    ) -> None:
        if self._cached:
            return
        super().__init__(**kwargs)
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("data_loops", data_loops),
            ("max_connections_per_node", max_connections_per_node),
            ("control_threads", control_threads),
            ("readahead_bytes", readahead_bytes),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.cluster = cluster
        self.auto_mkdir = auto_mkdir
        self.default_block_size = default_block_size
        self.default_cache_type = default_cache_type
        self.readahead_bytes = readahead_bytes
        self.max_concurrency = max_concurrency
        self.data_loops = data_loops
        self.chunk_size = chunk_size
        self.stripe = stripe
        self._link_options = dict(
            control_threads=control_threads,
            timeout_s=timeout_s,
            retry_window_s=retry_window_s,
            connect_timeout_s=connect_timeout_s,
            max_connections_per_node=max_connections_per_node,
            max_concurrency=max_concurrency,
        )
        self._link: ClusterLink | None = None

    # ---- plumbing ------------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """fsspec's IO loop of *this* process: a forked child rebinds to its own."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            if not self.asynchronous:
                self._loop = get_loop()
        return self._loop

    @property
    def link(self) -> ClusterLink:
        if self._link is None:
            self._link = ClusterLink(self.cluster, **self._link_options)
        return self._link

    async def _close(self) -> None:
        """Close this process's connections and threads; they reopen on the next call."""
        if self._link is not None:
            await self._link.close()

    close = sync_wrapper(_close)

    async def _meta(self, method: str, request: Any) -> Any:
        return await self.link.control.meta(method, request)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return split_url(path)[1]

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        cluster, _ = split_url(path)
        return {"cluster": cluster} if cluster else {}

    def unstrip_protocol(self, name: str) -> str:
        if name.startswith(PROTOCOL + "://"):
            return name
        return f"{PROTOCOL}://{self.cluster}{normalize(name)}"

    # ---- metadata ------------------------------------------------------------------------------

    @staticmethod
    def _details(path: str, inode: meta_pb2.Inode) -> dict[str, Any]:
        return {
            "name": path,
            "size": inode.size,
            "type": _TYPES.get(inode.type, "other"),
            "ino": inode.id,
            "mode": inode.mode,
            "nlink": inode.nlink,
            "uid": inode.uid,
            "gid": inode.gid,
            "created": inode.ctime_ns / 1e9,
            "mtime": inode.mtime_ns / 1e9,
            "atime": inode.atime_ns / 1e9,
            "mtime_ns": inode.mtime_ns,
            "ctime_ns": inode.ctime_ns,
            "chunk_size": inode.layout.chunk_size,
            "stripe": inode.layout.stripe,
        }

    async def _stat(self, path: str) -> meta_pb2.Inode:
        request = meta_pb2.StatRequest(ref=meta_pb2.InodeRef(path=path))
        return (await self._meta("Stat", request)).inode

    async def _info(self, path, **kwargs):
        path = self._strip_protocol(path)
        return self._details(path, await self._stat(path))

    async def _exists(self, path, **kwargs):
        try:
            await self._info(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    async def _ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        entries: list[dict[str, Any]] = []
        cursor = b""
        while True:
            request = meta_pb2.ListRequest(
                dir=meta_pb2.InodeRef(path=path), cursor=cursor, with_attrs=True
            )
            try:
                page = await self._meta("List", request)
            except NotADirectoryError:
                entries = [await self._info(path)]  # fsspec: ls of a file lists the file
                break
            for entry in page.entries:
                name = posixpath.join(path, entry.name)
                if entry.HasField("inode"):
                    entries.append(self._details(name, entry.inode))
                else:  # removed between the scan and its stat
                    entries.append(
                        {"name": name, "size": 0, "type": _TYPES.get(entry.type, "other")}
                    )
            cursor = page.next_cursor
            if not cursor:
                break
        return entries if detail else [e["name"] for e in entries]

    async def _mkdir(self, path, create_parents=True, **kwargs):
        await self._makedirs(path, exist_ok=False, parents=create_parents)

    async def _makedirs(self, path, exist_ok=False, parents=True):
        path = self._strip_protocol(path)
        request = meta_pb2.MkdirRequest(path=path, parents=parents, exist_ok=exist_ok)
        response = await self._meta("Mkdir", request)
        if not (response.created or exist_ok):  # meta's `parents` alone accepts an existing one
            raise error(Code.EXISTS, "directory already exists", path)

    async def _rm_file(self, path, **kwargs):
        path = self._strip_protocol(path)
        await self._meta("Unlink", meta_pb2.UnlinkRequest(path=path))

    async def _rmdir(self, path):
        path = self._strip_protocol(path)
        await self._meta("Rmdir", meta_pb2.RmdirRequest(path=path))

    rmdir = sync_wrapper(_rmdir)

    async def _rm(self, path, recursive=False, maxdepth=None, **kwargs):
        """Files first, all at once; then directories, deepest first (a directory is IS_DIR
        to unlink, which is how it is told apart without a second listing)."""
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        outcomes = await asyncio.gather(*(self._rm_file(p) for p in paths), return_exceptions=True)
        directories = []
        for p, outcome in zip(paths, outcomes, strict=True):
            if isinstance(outcome, IsADirectoryError) and recursive:
                directories.append(p)
            elif isinstance(outcome, BaseException):
                raise outcome
        for directory in sorted(directories, key=lambda d: d.count("/"), reverse=True):
            await self._rmdir(directory)

    async def _mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        """One meta rename per source: atomic for a file or a whole tree."""
        sources = path1 if isinstance(path1, list) else [path1]
        target = self._strip_protocol(path2)
        into = len(sources) > 1 or await self._isdir(target)
        for source in map(self._strip_protocol, sources):
            dst = posixpath.join(target, posixpath.basename(source)) if into else target
            if dst == source or source == target:
                continue
            request = meta_pb2.RenameRequest(src=source, dst=dst, parents=self.auto_mkdir)
            await self._meta("Rename", request)

    mv = sync_wrapper(_mv)

    async def _touch(self, path, truncate=True, **kwargs):
        path = self._strip_protocol(path)
        if truncate or not await self._exists(path):
            await self._pipe_file(path, b"")
            return
        now = time.time_ns()
        request = meta_pb2.SetAttrRequest(
            ref=meta_pb2.InodeRef(path=path), mtime_ns=now, atime_ns=now
        )
        await self._meta("SetAttr", request)

    touch = sync_wrapper(_touch)

    def created(self, path) -> datetime:
        return datetime.fromtimestamp(self.info(path)["created"], tz=UTC)

    def modified(self, path) -> datetime:
        return datetime.fromtimestamp(self.info(path)["mtime"], tz=UTC)

    def ukey(self, path) -> str:
        """Changes whenever the contents may have: a `wb` writes a new inode, writes move mtime."""
        info = self.info(path)
        key = f"{info['ino']}:{info['size']}:{info['mtime_ns']}:{info['ctime_ns']}"
        return hashlib.sha256(key.encode()).hexdigest()

    def checksum(self, path) -> int:
        return int(self.ukey(path)[:16], 16)

    # ---- reads ---------------------------------------------------------------------------------

    async def _stat_file(self, path: str) -> meta_pb2.Inode:
        inode = await self._stat(path)
        if inode.type == DIRECTORY:
            raise error(Code.IS_DIR, "is a directory, not a file to read", path)
        return inode

    async def _by_path(self, path: str, read: Callable[[meta_pb2.Inode], Awaitable[T]]) -> T:
        """`read(inode)`; once more with a fresh stat if the inode was removed and collected."""
        for attempt in range(2):
            inode = await self._stat_file(path)
            try:
                return await read(inode)
            except OSError as exc:
                if exc.errno != errno.ESTALE or attempt:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _read_inode_into(self, inode: meta_pb2.Inode, offset: int, dest: memoryview) -> int:
        """File bytes from `offset` into `dest` (0 copies for a chunk's range); the count."""
        io = await self.link.chunk_io()
        return await io.read_into(inode.id, inode.layout, inode.size, offset, dest)

    async def _read_inode(self, inode: meta_pb2.Inode, start: int, end: int) -> bytes:
        """Bytes `[start, end)` as an owned `bytes`, received straight into it (0 copies)."""
        length = max(0, min(end, inode.size) - start)
        if not length:
            return b""
        data, view = new_bytes(length)
        count = await self._read_inode_into(inode, start, view)
        view.release()
        return data if count == length else data[:count]

    @staticmethod
    def _span(size: int, start: int | None, end: int | None) -> tuple[int, int]:
        """fsspec's `start`/`end` (None, negative = from the end) as `[start, end)` in the file."""
        start = 0 if start is None else (max(0, size + start) if start < 0 else start)
        end = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
        return start, max(start, end)

    async def _cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)

        async def read(inode: meta_pb2.Inode) -> bytes:
            return await self._read_inode(inode, *self._span(inode.size, start, end))

        return await self._by_path(path, read)

    async def _read_into(self, path, offset: int, buffer) -> int:
        """Read file bytes from `offset` into `buffer` (0 copies); how many there were."""
        path = self._strip_protocol(path)
        dest = memoryview(buffer).cast("B")
        return await self._by_path(path, lambda inode: self._read_inode_into(inode, offset, dest))

    read_into = sync_wrapper(_read_into)

    async def _stat_many(self, paths: Sequence[str]) -> dict[str, meta_pb2.Inode | FlyfsError]:
        """One StatMany per 10,000 distinct paths; each path's inode or its error."""
        unique = list(dict.fromkeys(paths))
        found: dict[str, meta_pb2.Inode | FlyfsError] = {}
        for at in range(0, len(unique), STAT_MANY_BATCH):
            batch = unique[at : at + STAT_MANY_BATCH]
            request = meta_pb2.StatManyRequest(refs=[meta_pb2.InodeRef(path=p) for p in batch])
            response = await self._meta("StatMany", request)
            for p, result in zip(batch, response.results, strict=True):
                if result.status.code:
                    code = Code(result.status.code)
                    found[p] = error(code, result.status.message, result.status.path or p)
                elif result.inode.type == DIRECTORY:
                    found[p] = error(Code.IS_DIR, "is a directory, not a file to read", p)
                else:
                    found[p] = result.inode
        return found

    async def _ranges_into(
        self,
        paths: Sequence[str],
        starts: Sequence[int],
        dests: Sequence[memoryview],
        inodes: dict[str, meta_pb2.Inode | FlyfsError] | None = None,
    ) -> list[int | BaseException]:
        """Every range in one `read_ranges_into` (one batch per storage node); ESTALE re-stats."""
        for attempt in range(2):
            if inodes is None:
                inodes = await self._stat_many(paths)
            elif attempt:  # the caller's dict gets the fresh inodes (its cache may keep them)
                inodes.update(await self._stat_many(paths))
            reads, slots, out = [], [], []
            for i, (p, start, dest) in enumerate(zip(paths, starts, dests, strict=True)):
                inode = inodes[p]
                if isinstance(inode, BaseException):
                    out.append(inode)
                    continue
                out.append(0)
                reads.append(RangeInto(inode.id, inode.layout, inode.size, start, dest))
                slots.append(i)
            io = await self.link.chunk_io()
            try:
                counts = await io.read_ranges_into(reads)
            except OSError as exc:
                if exc.errno != errno.ESTALE or attempt:
                    raise
                continue
            for slot, count in zip(slots, counts, strict=True):
                out[slot] = count
            return out
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _cat_ranges(
        self, paths, starts, ends, max_gap=None, batch_size=None, on_error="return", **kwargs
    ):
        """Many ranges, grouped into one batch read per storage node, each received into
        its own result `bytes` (0 copies in Python)."""
        if not isinstance(paths, list):
            raise TypeError("paths must be a list")
        starts = list(starts) if isinstance(starts, Sequence) else [starts] * len(paths)
        ends = list(ends) if isinstance(ends, Sequence) else [ends] * len(paths)
        if len(starts) != len(paths) or len(ends) != len(paths):
            raise ValueError("paths, starts and ends differ in length")
        paths = [self._strip_protocol(p) for p in paths]
        sizes = await self._stat_many(paths)
        spans = []
        for p, start, end in zip(paths, starts, ends, strict=True):
            inode = sizes[p]
            size = 0 if isinstance(inode, BaseException) else inode.size
            spans.append(self._span(size, start, end))
        results, dests = (
            zip(*(new_bytes(e - s) for s, e in spans), strict=True) if spans else ((), ())
        )
        counts = await self._ranges_into(paths, [s for s, _ in spans], list(dests), sizes)
        for dest in dests:
            dest.release()
        out: list[bytes | BaseException] = []
        for data, count in zip(results, counts, strict=True):
            if isinstance(count, BaseException):
                out.append(count)
            else:
                out.append(data if count == len(data) else data[:count])
        if on_error != "return":
            failed = next((x for x in out if isinstance(x, BaseException)), None)
            if failed is not None:
                raise failed
        return out

    async def _cat_ranges_into(
        self,
        paths,
        starts,
        buffers,
        on_error: str = "raise",
        inodes: dict[str, meta_pb2.Inode | FlyfsError] | None = None,
    ) -> list[int | BaseException]:
        """Range `[starts[i], starts[i] + len(buffers[i]))` of `paths[i]` into `buffers[i]`;
        the byte counts.  0 copies in Python.
        `on_error="return"`: a path that cannot be read (missing, a directory) gives its
        exception in place of a count, as fsspec's `cat_ranges` does.  `inodes`: every
        path's inode as `_stat_many` gave it earlier, to skip asking meta again (a
        stale one costs one ESTALE and a fresh lookup, written back into `inodes`;
        its length bounds the read)."""
        paths = [self._strip_protocol(p) for p in paths]
        dests = [memoryview(b).cast("B") for b in buffers]
        counts = await self._ranges_into(paths, list(starts), dests, inodes)
        failed = next((c for c in counts if isinstance(c, BaseException)), None)
        if failed is not None and on_error != "return":
            raise failed
        return counts

    cat_ranges_into = sync_wrapper(_cat_ranges_into)

    # ---- writes --------------------------------------------------------------------------------

    async def _open_session(self, path: str, mode: str, **kwargs: Any) -> meta_pb2.OpenResponse:
        request = meta_pb2.OpenRequest(
            path=path,
            open_mode=_SESSION_MODES[mode],
            create=mode != "r+b",
            exclusive=mode == "xb",
            parents=self.auto_mkdir,
            chunk_size=kwargs.get("chunk_size", self.chunk_size),
            stripe=kwargs.get("stripe", self.stripe),
        )
        sent = time.monotonic()
        opened = await self._meta("Open", request)
        self.link.leases.add(opened.session_id, path, opened.session_lease_ms, sent)
        return opened

    def leases_check(self, session_id: int) -> None:
        self.link.leases.check(session_id)

    async def _close_session(self, inode_id: int, session_id: int, length: int) -> None:
        try:
            self.link.leases.check(session_id)
            request = meta_pb2.CloseRequest(
                inode_id=inode_id, session_id=session_id, length_hint=length
            )
            await self._meta("Close", request)
        finally:
            self.link.leases.remove(session_id)

    async def _abort_session(self, inode_id: int, session_id: int) -> None:
        """Best effort: if meta cannot be told, the session lapses and is pruned the same way."""
        try:
            request = meta_pb2.CloseRequest(inode_id=inode_id, session_id=session_id, abort=True)
            await self._meta("Close", request)
        except OSError:
            pass
        finally:
            self.link.leases.remove(session_id)

    async def _write_inode(self, inode: meta_pb2.Inode, offset: int, data: memoryview) -> None:
        io = await self.link.chunk_io()
        await io.write(inode.id, inode.layout, offset, data)

    async def _write_file(
        self,
        path: str,
        mode: str,
        fill: Callable[[meta_pb2.Inode], Awaitable[int]],
        **kwargs: Any,
    ) -> None:
        """Open a session, `fill(inode)` (returns the length written), close; abort on failure."""
        opened = await self._open_session(path, mode, **kwargs)
        try:
            length = await fill(opened.inode)
        except BaseException:
            await self._abort_session(opened.inode.id, opened.session_id)
            raise
        await self._close_session(opened.inode.id, opened.session_id, length)

    async def _write_at(self, path: str, writes: Sequence[tuple[int, Any]]) -> None:
        """Write each `(offset, bytes-like)` into the existing file `path`, in place.

        `pwrite` for flyfs, beyond fsspec: the KV-cache store's slabs take
        pages into fixed slots.  One meta session ("r+b", which several
        writers may hold at once) for all of them; the writes go out
        together and this returns once every byte is committed on every
        replica.  A write lands whole within each chunk it touches; the
        file grows to cover the furthest.  0 copies.  FileNotFoundError if
        the file does not exist.
        """
        path = self._strip_protocol(path)
        views = [(offset, memoryview(data).cast("B")) for offset, data in writes]
        if any(offset < 0 for offset, _ in views):
            raise error(Code.INVALID_ARGUMENT, "a write at a negative offset", path)

        async def fill(inode: meta_pb2.Inode) -> int:
            await asyncio.gather(
                *(self._write_inode(inode, offset, view) for offset, view in views if view.nbytes)
            )
            return max((offset + view.nbytes for offset, view in views), default=0)

        await self._write_file(path, "r+b", fill)

    write_at = sync_wrapper(_write_at)

    async def _pipe_file(self, path, value, mode="overwrite", **kwargs):
        """0 copies: `value` goes from the caller's buffer to the sockets."""
        path = self._strip_protocol(path)
        data = memoryview(value).cast("B")

        async def fill(inode: meta_pb2.Inode) -> int:
            if data.nbytes:
                await self._write_inode(inode, 0, data)
            return data.nbytes

        await self._write_file(path, "xb" if mode == "create" else "wb", fill, **kwargs)

    # ---- files ---------------------------------------------------------------------------------

    def _open(
        self,
        path,
        mode="rb",
        block_size=None,
        autocommit=True,
        cache_options=None,
        **kwargs,
    ):
        path = self._strip_protocol(path)
        if mode not in ("rb", *_OPEN_MODES):
            raise ValueError(
                f"flyfs cannot open {path!r} in mode {mode!r}: use 'rb', 'wb', 'ab' or 'xb'"
                " (or their text forms 'r', 'w', 'a', 'x')"
            )
        if path == "/":
            raise error(Code.IS_DIR, "the root directory: the URL names no file", path)
        if mode == "rb":
            inode = sync(self.loop, self._stat_file, path)
            options = dict(cache_options or {})
            readahead_bytes = options.pop("readahead_bytes", self.readahead_bytes)
            return FlyfsReadFile(
                self,
                path,
                inode,
                self._details(path, inode),
                block_size=block_size or self.default_block_size,
                cache_type=kwargs.get("cache_type", self.default_cache_type),
                cache_options=options,
                readahead_bytes=readahead_bytes,
            )
        opened = sync(self.loop, self._open_session, path, mode, **kwargs)
        return FlyfsWriteFile(
            self,
            path,
            mode,
            opened,
            max_concurrency=self.max_concurrency,
            autocommit=autocommit,
        )
