"""The chunk engine: one target directory of crash-safe, versioned chunks.

Crash safety: copy-on-write per version, one file per version.
  * Every chunk file holds one whole version: header + metadata (with its
    own CRC) + data.  A file is written under a temporary name, fsynced,
    then renamed into place, so one rename installs data and metadata
    together; a file is never modified after its rename.
  * `<id>.c` is the committed version, `<id>.p` the pending one (at most
    one).  A write creates `.p`; commit renames `.p` over `.c` (one atomic
    rename, no byte rewritten).  SIGKILL at any point leaves the old or the
    new name in place, never a torn file; opening a target deletes the
    temporary files and any `.p` that is not `.c`'s version + 1.
  * Because files are immutable, a reader's open descriptor keeps
    describing the version whose checksums it took, whatever commits later.
    The cost is a copy of the chunk per partial write, made in the kernel
    (`copy_file_range`), never through Python.

Version rules for `write` / `truncate` (update_ver U, committed C, pending P):
  * U == P (or U == C with no pending) and the same (client, sequence,
    payload CRC) as that version's writer: an identical duplicate, acknowledged
    (`duplicate=True`), nothing applied.
  * U <= C otherwise: STALE_VERSION.   U == P otherwise: VERSION_CONFLICT.
  * A pending version exists and U > P: VERSION_CONFLICT (the pending one must
    be committed or replaced first).  No pending and U > C + 1: VERSION_CONFLICT
    (a gap: out of order).
  * U == C + 1, no pending: if the client's recorded sequence >= sequence,
    a retry was already applied: acknowledged as duplicate, not applied; a
    first attempt is VERSION_CONFLICT (a client keeps one update per chunk
    in flight, so its sequences reach a chunk in order).
    If the client is not recorded, `retry=True` and the chunk has evicted
    entries: RETRY_UNKNOWN (it may have been applied; never apply it twice).
    Otherwise it is stored as the pending version U.
  * `full_chunk_replace=True` (forwards to a SYNCING target) accepts any
    U > C, replacing a pending version other than an identical duplicate.
`commit(U)`: pending U → committed; U <= C is acknowledged (already done);
anything else VERSION_CONFLICT.  `install` (resync, repair) sets an exact
committed version, dropping any pending one.

Locking: operations on one chunk serialise on a striped per-chunk lock
(threads: the storage server runs chunk I/O in a thread pool); the index
of chunks has its own short lock.  Never two chunk locks at once.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import logging
import os
import resource
import threading
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace

from flyfs.checksums import crc32c, zeros_crc
from flyfs.errors import Code, error
from flyfs.layout import CHUNK_ID_SIZE, MAX_CHUNK_SIZE, inode_chunk_range, parse_chunk_id

from . import checksums
from .checksums import BLOCK
from .chunk_meta import (
    MAX_CLIENTS,
    NO_CLIENT,
    ChunkInfo,
    ChunkVersion,
    CorruptChunkFile,
    Writer,
    check_client_id,
    clients_tuple,
    data_offset,
    decode,
    encode,
)
from .file_io import copy_range, fsync_dir, pread_exact, pwrite_all
from .read_fds import ReadFds

log = logging.getLogger(__name__)

_LOCK_STRIPES = 1024
READ_FDS_MAX = 256  # committed chunk files kept open per target (storage.read_fds)
LIST_LIMIT_DEFAULT = 1000


@dataclass
class _Entry:
    committed: ChunkVersion | None = None
    pending: ChunkVersion | None = None
    committed_bytes: int = 0  # file sizes, for space accounting
    pending_bytes: int = 0

    @property
    def commit_ver(self) -> int:
        return self.committed.version if self.committed else 0

    @property
    def newest(self) -> ChunkVersion | None:
        return self.pending or self.committed


@dataclass(frozen=True)
class UpdateResult:
    """What a write, truncate or commit left: maps onto `WriteResponse`."""

    update_ver: int
    commit_ver: int
    length: int  # of the newest version
    duplicate: bool = False


@dataclass(frozen=True)
class Space:
    used_bytes: int  # bytes of chunk files (committed + pending)
    free_bytes: int  # statvfs: available to us
    total_bytes: int
    chunks: int


class ReadHandle:
    """A committed range, ready to send: fd, file offset, length, block CRCs.

    Taken under the chunk lock; the file is immutable, so after the lock is
    released the descriptor still holds exactly the bytes the CRCs describe.
    `fd` is -1 when `length` is 0: the chunk has no committed version yet, or
    the range starts at or past its end.
    Close it (or use `with`).  The server sends `length` bytes from `fd` at
    `file_offset` with `os.sendfile` (0 copies in Python).
    """

    __slots__ = (
        "block_crcs",
        "chunk_length",
        "commit_ver",
        "fd",
        "file_offset",
        "first_block",
        "length",
        "offset",
        "pending",
        "update_ver",
    )

    def __init__(
        self,
        fd: int,
        file_offset: int,
        offset: int,
        length: int,
        chunk_length: int,
        commit_ver: int,
        update_ver: int,
        first_block: int,
        block_crcs: tuple[int, ...],
    ) -> None:
        self.fd = fd
        self.file_offset = file_offset  # where chunk byte `offset` is in `fd`
        self.offset = offset
        self.length = length
        self.chunk_length = chunk_length
        self.commit_ver = commit_ver
        self.update_ver = update_ver
        self.pending = update_ver > commit_ver  # replication decides NOT_COMMITTED
        self.first_block = first_block
        self.block_crcs = block_crcs  # blocks first_block.. covering the range

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ReadHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_fd_limit() -> int:
    """Kept-open chunk files per target: at most a 64th of the descriptor limit, so a
    node of many targets still leaves most of it to reads in flight (half, see
    `storage.service`) and to connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return READ_FDS_MAX if soft == resource.RLIM_INFINITY else min(READ_FDS_MAX, soft // 64)


class ChunkStore:
    """One target: a directory of chunks.  Thread-safe."""

    def __init__(self, path: str, *, fsync: bool = True, max_clients: int = MAX_CLIENTS):
        self.path = os.path.abspath(path)
        self.fsync = fsync
        self.max_clients = min(max_clients, MAX_CLIENTS)
        self._root = os.path.join(self.path, "chunks")
        self._quarantine = os.path.join(self.path, "corrupt")
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._index_lock = threading.Lock()
        self._entries: dict[bytes, _Entry] = {}
        self._sorted: list[bytes] = []
        self._used = 0
        self._read_fds = ReadFds(_read_fd_limit())
        weakref.finalize(self, self._read_fds.close)
        os.makedirs(self._root, exist_ok=True)
        self._recover()

    # ---- paths, locks, index -------------------------------------------------

    def _dir(self, cid: bytes) -> str:
        # The last index byte spreads one file's chunks over 256 directories.
        return f"{self._root}/{cid[13]:02x}"

    def _file(self, cid: bytes, kind: str) -> str:
        # On every read: plain formatting, not os.path.join (measured 3 us of 18 per range).
        return f"{self._root}/{cid[13]:02x}/{cid.hex()}.{kind}"

    def _lock(self, cid: bytes) -> threading.Lock:
        return self._locks[hash(cid) % _LOCK_STRIPES]

    @staticmethod
    def _check_id(cid: bytes) -> bytes:
        cid = bytes(cid)
        parse_chunk_id(cid)
        return cid

    def _set_entry(self, cid: bytes, entry: _Entry | None) -> None:
        with self._index_lock:
            old = self._entries.get(cid)
            if old is not None:
                self._used -= old.committed_bytes + old.pending_bytes
            if entry is None or (entry.committed is None and entry.pending is None):
                if old is not None:
                    del self._entries[cid]
                    i = bisect.bisect_left(self._sorted, cid)
                    del self._sorted[i]
            else:
                if old is None:
                    bisect.insort(self._sorted, cid)
                self._entries[cid] = entry
                self._used += entry.committed_bytes + entry.pending_bytes
        if old is not None and (entry is None or entry.committed is not old.committed):
            self._read_fds.forget(cid)  # a new committed file, or none: let the old one go

    def _entry(self, cid: bytes) -> _Entry | None:
        with self._index_lock:
            return self._entries.get(cid)

    # ---- recovery ------------------------------------------------------------

    def _recover(self) -> None:
        """Rebuild the index; delete temp files and pending files that cannot be next."""
        found: dict[bytes, _Entry] = {}
        for sub in sorted(os.listdir(self._root)):
            d = os.path.join(self._root, sub)
            for name in os.listdir(d):
                full = os.path.join(d, name)
                stem, _, kind = name.rpartition(".")
                if kind == "tmp":
                    os.unlink(full)
                    continue
                try:
                    cid = bytes.fromhex(stem)
                    if kind not in ("c", "p") or len(cid) != CHUNK_ID_SIZE:
                        raise CorruptChunkFile("unexpected name")
                    version, size = self._load(full)
                except (CorruptChunkFile, ValueError) as exc:
                    self._quarantine_file(full, str(exc))
                    continue
                entry = found.setdefault(cid, _Entry())
                if kind == "c":
                    entry.committed, entry.committed_bytes = version, size
                else:
                    entry.pending, entry.pending_bytes = version, size
            if self.fsync:
                fsync_dir(d)
        for cid, entry in found.items():
            if entry.pending is not None and entry.pending.version != entry.commit_ver + 1:
                log.info("dropping pending v%d of %s", entry.pending.version, cid.hex())
                os.unlink(self._file(cid, "p"))
                entry.pending, entry.pending_bytes = None, 0
            self._set_entry(cid, entry)

    @staticmethod
    def _load(path: str) -> tuple[ChunkVersion, int]:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            raw = os.pread(fd, data_offset(MAX_CHUNK_SIZE), 0)
        finally:
            os.close(fd)
        version, offset = decode(raw)
        if size < offset + version.length:
            raise CorruptChunkFile(f"file is {size} bytes, data needs {offset + version.length}")
        return version, size

    def _quarantine_file(self, path: str, why: str) -> None:
        log.error("chunk file %s is corrupt (%s): moved aside", path, why)
        os.makedirs(self._quarantine, exist_ok=True)
        os.replace(path, os.path.join(self._quarantine, os.path.basename(path)))

    # ---- queries -------------------------------------------------------------

    def _info(self, cid: bytes, e: _Entry) -> ChunkInfo:
        newest = e.newest
        assert newest is not None
        c = e.committed
        return ChunkInfo(
            chunk_id=cid,
            update_ver=newest.version,
            commit_ver=e.commit_ver,
            chain_ver=newest.chain_ver,
            length=c.length if c else 0,
            chunk_size=newest.chunk_size,
            block_crcs=c.block_crcs if c else (),
            clients=newest.clients,
            evicted=newest.evicted,
            update_by=newest.writer,
            pending_length=e.pending.length if e.pending else None,
        )

    def committed_meta(self, chunk_id: bytes) -> ChunkInfo | None:
        """The committed version alone, as resync and repair install it elsewhere.

        Unlike :meth:`meta`, nothing comes from a pending version: its
        writer's sequence must not travel in the client map of a version
        that does not hold its write (a retry would be taken as applied).
        """
        cid = self._check_id(chunk_id)
        with self._lock(cid):
            e = self._entry(cid)
            c = e.committed if e else None
            if c is None:
                return None
            return ChunkInfo(
                chunk_id=cid,
                update_ver=c.version,
                commit_ver=c.version,
                chain_ver=c.chain_ver,
                length=c.length,
                chunk_size=c.chunk_size,
                block_crcs=c.block_crcs,
                clients=c.clients,
                evicted=c.evicted,
                update_by=c.writer,
            )

    def meta(self, chunk_id: bytes) -> ChunkInfo | None:
        """The chunk's metadata, or None if it does not exist."""
        cid = self._check_id(chunk_id)
        with self._lock(cid):
            e = self._entry(cid)
            return self._info(cid, e) if e else None

    def list_chunks(
        self, begin: bytes = b"", end: bytes = b"", limit: int = LIST_LIMIT_DEFAULT
    ) -> tuple[list[ChunkInfo], bytes]:
        """Chunks with `begin <= id < end` in id order, at most `limit`; and the next `begin`.

        The next `begin` is empty when the range is exhausted (resync pages
        with it, as `ListChunksResponse.next_begin`).
        """
        limit = limit or LIST_LIMIT_DEFAULT
        with self._index_lock:
            lo = bisect.bisect_left(self._sorted, bytes(begin))
            hi = bisect.bisect_left(self._sorted, bytes(end)) if end else len(self._sorted)
            ids = self._sorted[lo : min(hi, lo + limit)]
            more = lo + limit < hi
        out = []
        for cid in ids:
            info = self.meta(cid)
            if info is not None:
                out.append(info)
        next_begin = ids[-1] + b"\0" if more and ids else b""
        return out, next_begin

    def query_last_chunk(self, inode: int) -> tuple[ChunkInfo | None, int]:
        """`(the committed chunk of `inode` with the largest index, chunk count)`.

        Chunks with no committed version yet are skipped: file length is
        what readers can read.
        """
        begin, end = inode_chunk_range(inode)
        with self._index_lock:
            lo = bisect.bisect_left(self._sorted, begin)
            hi = bisect.bisect_left(self._sorted, end)
            ids = self._sorted[lo:hi]
        best: tuple[int, ChunkInfo] | None = None
        count = 0
        for cid in ids:
            info = self.meta(cid)
            if info is None or info.commit_ver == 0:
                continue
            count += 1
            index = parse_chunk_id(cid).index
            if best is None or index > best[0]:
                best = (index, info)
        return (best[1] if best else None), count

    def chunk_ids(self) -> list[bytes]:
        with self._index_lock:
            return list(self._sorted)

    def space(self) -> Space:
        st = os.statvfs(self.path)
        with self._index_lock:
            used, chunks = self._used, len(self._entries)
        return Space(used, st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize, chunks)

    # ---- reads ---------------------------------------------------------------

    def open_read(
        self, chunk_id: bytes, offset: int, length: int, *, keep_open: bool = True
    ) -> ReadHandle:
        """The committed bytes `[offset, offset + length)` (short at the chunk's end).

        Returns an fd with the block CRCs covering the range, taken together
        under the chunk lock.  Nothing is read or verified here: the sender
        uses `sendfile` and the receiver verifies.  A chunk with only a
        pending version gives an empty handle with `pending` set.
        `keep_open=False` (one pass over every chunk: scrub, repair, resync)
        opens the file without keeping it, so the kept files stay the ones
        clients read.
        """
        cid = self._check_id(chunk_id)
        if offset < 0 or length < 0:
            raise error(Code.BAD_RANGE, f"range ({offset}, {length})", cid.hex())
        with self._lock(cid):
            e = self._entry(cid)
            if e is None:
                raise error(Code.CHUNK_NOT_FOUND, "no such chunk", cid.hex())
            newest = e.newest
            assert newest is not None
            c = e.committed
            if c is None:
                return ReadHandle(-1, 0, offset, 0, 0, 0, newest.version, 0, ())
            start = min(offset, c.length)
            n = min(length, c.length - start)
            blocks = checksums.blocks_of(start, n)
            # No descriptor for nothing: a batch of empty ranges must not cost one each.
            path = self._file(cid, "c")
            if not n:
                fd = -1
            elif keep_open:
                fd = self._read_fds.open(cid, c, path)
            else:
                fd = os.open(path, os.O_RDONLY)
            return ReadHandle(
                fd,
                data_offset(c.chunk_size) + start,
                start,
                n,
                c.length,
                c.version,
                newest.version,
                blocks.start,
                c.block_crcs[blocks.start : blocks.stop],
            )

    def read_pending(self, chunk_id: bytes) -> tuple[ChunkVersion, int, bytearray] | None:
        """`(the pending version, the committed version number, its whole content)`, or None.

        For a head that re-forwards a pending version unchanged before it
        assigns a new one (flyfs.storage.craq); rare, so it reads the chunk
        into memory (1 kernel -> user copy).
        """
        cid = self._check_id(chunk_id)
        with self._lock(cid):
            e = self._entry(cid)
            if e is None or e.pending is None:
                return None
            p = e.pending
            fd = os.open(self._file(cid, "p"), os.O_RDONLY)
            try:
                data = pread_exact(fd, p.length, data_offset(p.chunk_size))
            finally:
                os.close(fd)
            return p, e.commit_ver, data

    def read(self, chunk_id: bytes, offset: int, length: int) -> bytes:
        """The committed bytes of a range, verified: CHECKSUM_MISMATCH, never bad bytes.

        Reads the whole blocks the range touches (1 kernel → user copy),
        verifies them, then slices the range out (1 more copy).  For tests,
        the scrubber and local tools; the network path uses `open_read`.
        """
        with self.open_read(chunk_id, offset, length, keep_open=False) as h:
            if h.length == 0:
                return b""
            first = h.first_block * BLOCK
            end = min((h.first_block + len(h.block_crcs)) * BLOCK, h.chunk_length)
            buf = pread_exact(h.fd, end - first, h.file_offset - (h.offset - first))
            bad = checksums.bad_blocks(buf, h.first_block, h.block_crcs, h.chunk_length)
            if bad:
                raise error(
                    Code.CHECKSUM_MISMATCH,
                    f"v{h.commit_ver} blocks {bad} fail their CRC32C",
                    bytes(chunk_id).hex(),
                )
            return bytes(memoryview(buf)[h.offset - first : h.offset - first + h.length])

    def verify(self, chunk_id: bytes) -> list[int]:
        """Indexes of committed blocks whose CRC fails (scrubber, repair)."""
        with self.open_read(chunk_id, 0, MAX_CHUNK_SIZE, keep_open=False) as h:
            if h.length == 0:
                return []
            buf = pread_exact(h.fd, h.length, h.file_offset)
            return checksums.bad_blocks(buf, 0, h.block_crcs, h.chunk_length)

    # ---- updates -------------------------------------------------------------

    def write(
        self,
        chunk_id: bytes,
        offset: int,
        data: bytes | bytearray | memoryview,
        *,
        update_ver: int,
        chain_ver: int = 0,
        client_id: bytes = b"",
        sequence: int = 0,
        chunk_size: int,
        payload_crc: int | None = None,
        retry: bool = False,
        full_chunk_replace: bool = False,
    ) -> UpdateResult:
        """Store `data` at `offset` as the pending version `update_ver` (see module doc).

        Copies: the new bytes go user → kernel once (pwrite); the rest of
        the chunk is copied kernel-side from the committed file.
        `payload_crc`, when given (from the wire), is checked first.
        """
        cid = self._check_id(chunk_id)
        view = memoryview(data).cast("B")
        n = len(view)
        if full_chunk_replace and offset != 0:
            raise error(Code.BAD_RANGE, "a full-chunk replace starts at 0", cid.hex())
        _check_chunk_size(chunk_size, cid)
        if offset < 0 or offset + n > chunk_size:
            raise error(Code.BAD_RANGE, f"write ({offset}, {n}) outside {chunk_size}", cid.hex())
        crc = crc32c(view)
        if payload_crc is not None and payload_crc != crc:
            raise error(Code.CHECKSUM_MISMATCH, "payload CRC32C does not match", cid.hex())
        writer = Writer(check_client_id(client_id), sequence, crc)
        return self._update(
            cid,
            writer,
            update_ver,
            chain_ver,
            chunk_size,
            retry,
            full_chunk_replace,
            offset=offset,
            data=view,
            new_length=None,
        )

    def truncate(
        self,
        chunk_id: bytes,
        length: int,
        *,
        update_ver: int,
        chain_ver: int = 0,
        client_id: bytes = b"",
        sequence: int = 0,
        chunk_size: int,
        retry: bool = False,
    ) -> UpdateResult:
        """Cut the chunk to `length` (or extend it with zeros) as pending version `update_ver`.

        Versioned like a write, so it replicates like one (TruncateRequest).
        """
        cid = self._check_id(chunk_id)
        _check_chunk_size(chunk_size, cid)
        if not 0 <= length <= chunk_size:
            raise error(Code.BAD_RANGE, f"truncate to {length} outside {chunk_size}", cid.hex())
        # A truncate's identity for duplicate detection: its target length.
        writer = Writer(check_client_id(client_id), sequence, crc32c(b"T%d" % length))
        return self._update(
            cid,
            writer,
            update_ver,
            chain_ver,
            chunk_size,
            retry,
            False,
            offset=0,
            data=memoryview(b""),
            new_length=length,
        )

    def _update(
        self,
        cid: bytes,
        writer: Writer,
        update_ver: int,
        chain_ver: int,
        chunk_size: int,
        retry: bool,
        full: bool,
        *,
        offset: int,
        data: memoryview,
        new_length: int | None,
    ) -> UpdateResult:
        with self._lock(cid):
            e = self._entry(cid) or _Entry()
            dup = self._check_version(cid, e, update_ver, writer, retry, full)
            if dup is not None:
                return dup
            base = e.committed
            if base is not None and base.chunk_size != chunk_size:
                raise error(
                    Code.INVALID_ARGUMENT,
                    f"chunk size {chunk_size}, chunk has {base.chunk_size}",
                    cid.hex(),
                )
            old_len = base.length if base else 0
            n = len(data)
            if full:
                length = n
            elif new_length is not None:
                length = new_length
            else:
                length = max(old_len, offset + n)
            keep = 0 if full or (offset == 0 and n >= length) else min(old_len, length)
            clients, evicted = (e.newest or _empty(chunk_size)).with_client(
                writer.client_id, writer.sequence, self.max_clients
            )
            old_crcs = base.block_crcs if base and not full else ()
            src = self._file(cid, "c") if keep else None

            def fill(fd: int, off: int) -> tuple[int, ...]:
                if src is not None:
                    copy_range(src, fd, keep, data_offset(chunk_size), off)
                if n:
                    pwrite_all(fd, data, off + offset)
                return _new_block_crcs(
                    old_crcs, old_len if keep else 0, length, fd, off, offset, data
                )

            pending, size = self._write_file(
                cid, "p", fill, update_ver, chain_ver, length, chunk_size, writer, clients, evicted
            )
            self._set_entry(cid, replace(e, pending=pending, pending_bytes=size))
            return UpdateResult(update_ver, e.commit_ver, length)

    def _check_version(
        self, cid: bytes, e: _Entry, u: int, w: Writer, retry: bool, full: bool
    ) -> UpdateResult | None:
        """None if `u` may be stored; an acknowledgement for a duplicate; else raises."""
        c, p = e.commit_ver, e.pending
        newest = e.newest

        def ack() -> UpdateResult:
            assert newest is not None
            return UpdateResult(newest.version, c, newest.length, duplicate=True)

        if p is not None and u == p.version and p.writer == w:
            return ack()
        if p is None and e.committed is not None and u == c and e.committed.writer == w:
            return ack()
        if u <= c:
            raise error(Code.STALE_VERSION, f"update v{u} but committed v{c}", cid.hex())
        if full:
            return None
        if p is not None:
            raise error(
                Code.VERSION_CONFLICT, f"update v{u} but v{p.version} is pending", cid.hex()
            )
        if u != c + 1:
            raise error(Code.VERSION_CONFLICT, f"update v{u} after committed v{c}", cid.hex())
        if w.client_id != NO_CLIENT and newest is not None:
            seen = newest.sequence_of(w.client_id)
            if seen is not None and seen >= w.sequence:
                if retry:
                    return ack()
                # A first attempt at or below an applied sequence: the client broke
                # the one-update-per-chunk-in-flight rule.  Acknowledging would
                # lose it silently, applying it would reorder the client's writes.
                raise error(
                    Code.VERSION_CONFLICT,
                    f"client sequence {w.sequence} arrived after {seen} was applied: "
                    "a client keeps one update per chunk in flight",
                    cid.hex(),
                )
            if seen is None and retry and newest.evicted:
                raise error(
                    Code.RETRY_UNKNOWN,
                    "the client's sequence entry was evicted: it may have been applied",
                    cid.hex(),
                )
        return None

    def commit(self, chunk_id: bytes, update_ver: int) -> UpdateResult:
        """Make pending `update_ver` the committed version (one rename)."""
        cid = self._check_id(chunk_id)
        with self._lock(cid):
            e = self._entry(cid)
            if e is None:
                raise error(Code.CHUNK_NOT_FOUND, f"commit v{update_ver}", cid.hex())
            c, p = e.commit_ver, e.pending
            if p is not None and p.version == update_ver:
                os.replace(self._file(cid, "p"), self._file(cid, "c"))
                if self.fsync:
                    fsync_dir(self._dir(cid))
                self._set_entry(cid, _Entry(p, None, e.pending_bytes, 0))
                return UpdateResult(p.version, p.version, p.length)
            if update_ver <= c:
                newest = e.newest
                assert newest is not None
                return UpdateResult(newest.version, c, newest.length, duplicate=True)
            raise error(
                Code.VERSION_CONFLICT,
                f"commit v{update_ver}: committed v{c}, pending {p.version if p else 'none'}",
                cid.hex(),
            )

    def install(
        self,
        meta: ChunkInfo,
        data: bytes | bytearray | memoryview,
        *,
        expect_commit_ver: int | None = None,
    ) -> UpdateResult:
        """Install `data` as exactly the committed version `meta.commit_ver` (resync, repair).

        Any pending version is dropped.  `expect_commit_ver`: a repair
        installs only if the chunk's committed version is still that one
        (VERSION_CONFLICT otherwise).  Block CRCs given in `meta` must match
        the data (CHECKSUM_MISMATCH): a bad copy is never installed.
        """
        cid = self._check_id(meta.chunk_id)
        view = memoryview(data).cast("B")
        _check_chunk_size(meta.chunk_size, cid)
        if len(view) > meta.chunk_size or meta.commit_ver < 1:
            raise error(Code.BAD_RANGE, f"install of {len(view)} bytes", cid.hex())
        crcs = _new_block_crcs((), 0, len(view), -1, 0, 0, view)
        if meta.block_crcs and tuple(meta.block_crcs) != crcs:
            raise error(Code.CHECKSUM_MISMATCH, "install data does not match its CRCs", cid.hex())
        with self._lock(cid):
            e = self._entry(cid) or _Entry()
            if expect_commit_ver is not None and e.commit_ver != expect_commit_ver:
                raise error(
                    Code.VERSION_CONFLICT,
                    f"repair expected v{expect_commit_ver}, chunk has v{e.commit_ver}",
                    cid.hex(),
                )
            if e.pending is not None:
                # Drop the pending file first: a crash in between leaves the
                # old committed version and no pending one (the sender resends).
                os.unlink(self._file(cid, "p"))
                if self.fsync:
                    fsync_dir(self._dir(cid))
                e = replace(e, pending=None, pending_bytes=0)
                self._set_entry(cid, e)

            def fill(fd: int, off: int) -> tuple[int, ...]:
                pwrite_all(fd, view, off)
                return crcs

            committed, size = self._write_file(
                cid,
                "c",
                fill,
                meta.commit_ver,
                meta.chain_ver,
                len(view),
                meta.chunk_size,
                meta.update_by,
                clients_tuple(meta.clients),
                meta.evicted,
            )
            self._set_entry(cid, _Entry(committed, None, size, 0))
            return UpdateResult(meta.commit_ver, meta.commit_ver, len(view))

    def remove(self, chunk_ids: Iterable[bytes]) -> int:
        """Remove chunks (committed and pending); missing ones are fine.

        Returns how many existed.  One directory fsync per directory touched.
        """
        removed = 0
        dirs: set[str] = set()
        for chunk_id in chunk_ids:
            cid = self._check_id(chunk_id)
            with self._lock(cid):
                e = self._entry(cid)
                if e is None:
                    continue
                for kind, present in (("p", e.pending), ("c", e.committed)):
                    if present is not None:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(self._file(cid, kind))
                self._set_entry(cid, None)
                dirs.add(self._dir(cid))
                removed += 1
        if self.fsync:
            for d in dirs:
                fsync_dir(d)
        return removed

    # ---- the one way a chunk file is made ------------------------------------

    def _write_file(
        self,
        cid: bytes,
        kind: str,
        fill,
        version: int,
        chain_ver: int,
        length: int,
        chunk_size: int,
        writer: Writer,
        clients: tuple,
        evicted: int,
    ) -> tuple[ChunkVersion, int]:
        """Write a whole version to a temp file, fsync, rename to `<id>.<kind>`."""
        d = self._dir(cid)
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, f"{cid.hex()}.{uuid.uuid4().hex[:12]}.tmp")
        off = data_offset(chunk_size)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                os.ftruncate(fd, off + length)
                crcs = fill(fd, off)
                v = ChunkVersion(
                    version, chain_ver, length, chunk_size, writer, clients, evicted, crcs
                )
                pwrite_all(fd, memoryview(encode(v)), 0)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._file(cid, kind))
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise error(Code.NO_SPACE, str(exc), cid.hex()) from exc
            raise
        if self.fsync:
            fsync_dir(d)
        return v, off + length


# ---- helpers ----------------------------------------------------------------


def _empty(chunk_size: int) -> ChunkVersion:
    return ChunkVersion(0, 0, 0, chunk_size, Writer(), (), 0, ())


def _check_chunk_size(chunk_size: int, cid: bytes) -> None:
    if chunk_size <= 0 or chunk_size & (chunk_size - 1) or chunk_size > MAX_CHUNK_SIZE:
        raise error(Code.INVALID_ARGUMENT, f"chunk size {chunk_size}", cid.hex())


def _new_block_crcs(
    old: tuple[int, ...],
    old_len: int,
    length: int,
    fd: int,
    data_off: int,
    w_off: int,
    data: memoryview,
) -> tuple[int, ...]:
    """Block CRCs of the new content, recomputing only the blocks that changed.

    The new content is the old one (first `old_len` bytes kept), zeros up to
    `length`, with `data` at `w_off`.  Changed blocks: those `data` touches
    and those whose extent changed (the old or new last block, new zero
    blocks).  Each is computed from `data` when it covers the block, as
    zeros when the block is all hole, else from the new file (≤ 2 edge
    blocks, pread: 1 copy each).
    """
    n = len(data)
    count = checksums.block_count(length)
    crcs = list(old[:count]) + [0] * max(0, count - len(old))
    dirty = set(checksums.blocks_of(w_off, n))
    if length != old_len:
        short = min(old_len, length)
        dirty.update(range(short // BLOCK, count))
    w_end = w_off + n
    for k in sorted(dirty):
        start, end = checksums.block_span(k, length)
        if start >= end:
            continue
        if w_off <= start and end <= w_end:
            crcs[k] = checksums.block_crc(data[start - w_off : end - w_off])
        elif start >= old_len and (end <= w_off or start >= w_end):
            crcs[k] = zeros_crc(end - start)  # a hole: no read needed
        else:
            crcs[k] = checksums.block_crc(pread_exact(fd, end - start, data_off + start))
    return tuple(crcs)
