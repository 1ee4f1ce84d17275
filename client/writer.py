"""Files opened `wb`, `ab` and `xb`: chunk-aligned buffers, several chunks in flight.

Bytes are copied once, from the caller into a buffer that covers the rest
of the current chunk; a full buffer goes to storage at once (one update of
a whole chunk, or of a chunk's tail when appending) while the caller goes on
filling the next, with up to `max_concurrency` chunks in flight, usually to
different chains.  So a chunk is written once, never partially and then
again.  `close()` sends the last partial chunk, waits until every byte is
committed on every replica, then reports the length to meta (`Close`), which
for `wb` over an existing file swaps the new inode in: readers see the old
file or the new one, never a mix.  A failure aborts the session (the old
file stays) and is raised.  A session whose lease lapsed fails with EIO.

`flush()` sends nothing: data becomes visible at `close()` (as with s3fs).
A `with` block left by an exception discards the file (aborts the session)
rather than publishing what was written so far.
With fsspec transactions (`autocommit=False`), `close()` writes everything
and `commit()` / `discard()` close or abort the session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from collections import deque
from typing import TYPE_CHECKING

from fsspec.asyn import sync

from flyfs.net import BufferPool
from flyfs.proto import meta_pb2

if TYPE_CHECKING:
    from .filesystem import FlyfsFileSystem


class FlyfsWriteFile(io.BufferedIOBase):
    def __init__(
        self,
        fs: FlyfsFileSystem,
        path: str,
        mode: str,
        opened: meta_pb2.OpenResponse,
        *,
        max_concurrency: int,
        autocommit: bool = True,
    ) -> None:
        super().__init__()
        self.fs = fs
        self.path = path
        self.mode = mode
        self.autocommit = autocommit
        self.inode = opened.inode
        self.session_id = opened.session_id
        self._chunk = opened.inode.layout.chunk_size
        self._pos = opened.inode.size if mode == "ab" else 0
        self._buffers = BufferPool(max_cached_bytes=max_concurrency * self._chunk)
        self._buf = None  # covers [_buf_start, the end of its chunk)
        self._buf_start = self._pos
        self._inflight: deque[tuple[concurrent.futures.Future[None], object]] = deque()
        self._max_inflight = max_concurrency
        self._failed: BaseException | None = None
        self._written = False  # every byte is on storage; only meta's Close is left

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        self._raise_if_failed()
        view = memoryview(data).cast("B")
        size = view.nbytes
        while view.nbytes:
            if self._buf is None:
                self._buf = self._buffers.acquire(self._chunk)
                self._buf_start = self._pos
            chunk_end = (self._buf_start // self._chunk + 1) * self._chunk
            at = self._pos - self._buf_start
            n = min(chunk_end - self._pos, view.nbytes)
            self._buf[at : at + n] = view[:n]  # the one copy: caller -> chunk buffer
            self._pos += n
            view = view[n:]
            if self._pos == chunk_end:
                self._send()
        return size

    def _send(self) -> None:
        """Hand the current buffer to storage; wait for the oldest when too many are out."""
        buf, start, length = self._buf, self._buf_start, self._pos - self._buf_start
        self._buf = None
        if not length:
            self._buffers.release(buf)
            return
        self.fs.leases_check(self.session_id)
        coro = self.fs._write_inode(self.inode, start, memoryview(buf)[:length])
        self._inflight.append((asyncio.run_coroutine_threadsafe(coro, self.fs.loop), buf))
        while len(self._inflight) >= self._max_inflight:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        future, buf = self._inflight.popleft()
        try:
            future.result()
        except BaseException as exc:
            self._failed = self._failed or exc
        finally:
            if future.done():
                self._buffers.release(buf)
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._failed is not None:
            raise self._failed

    def _drain(self) -> None:
        while self._inflight:
            try:
                self._wait_oldest()
            except BaseException:
                continue  # the first failure is kept; let every write finish first
        self._raise_if_failed()

    def flush(self) -> None:
        """Nothing to do: chunks go out as they fill, the rest at close."""

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._written:
                try:
                    if self._buf is not None:
                        self._send()
                    self._drain()
                    self.fs.leases_check(self.session_id)
                    self._written = True
                except BaseException:
                    self.discard()
                    raise
            if self.autocommit:
                self.commit()
        finally:
            super().close()

    def commit(self) -> None:
        """Tell meta how long the file is; the new contents become visible now."""
        sync(self.fs.loop, self.fs._close_session, self.inode.id, self.session_id, self._pos)

    def discard(self) -> None:
        """Abort the session: a `wb` replacement is dropped, the old file stays."""
        if self.closed:
            return
        for future, _ in self._inflight:
            future.cancel()
        self._inflight.clear()
        try:
            sync(self.fs.loop, self.fs._abort_session, self.inode.id, self.session_id)
        finally:
            super().close()

    def __exit__(self, exc_type, exc, traceback) -> None:
        """A `with` block that raises discards the file instead of publishing half of it."""
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:
        """Never write from a finalizer (the loop may be gone): an unclosed file is
        abandoned, its session lapses, and a `wb` replacement never becomes visible."""
