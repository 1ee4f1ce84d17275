"""Whole files moved through the data plane: `cp_file`, `put_file`, `get_file`.

A mixin of :class:`client.filesystem.FlyfsFileSystem`, which supplies the
session, stat and chunk calls used here.  Every transfer streams in pieces
of the destination's chunk size, at most `max_concurrency` in flight: no
temporary file, no whole-file buffer.  Copies: each piece is read into a
reused buffer and written from it (1 copy in all; local files move through
`preadv`/`pwritev` into and out of the same buffer).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fsspec.callbacks import DEFAULT_CALLBACK

from flyfs.errors import Code, error
from flyfs.proto import meta_pb2

if TYPE_CHECKING:
    from .filesystem import FlyfsFileSystem

DIRECTORY = meta_pb2.INODE_TYPE_DIRECTORY


class Transfers:
    async def _pump(
        self: FlyfsFileSystem,
        size: int,
        step: int,
        read: Callable[[int, memoryview], Awaitable[int]],
        write: Callable[[int, memoryview], Awaitable[None]],
    ) -> None:
        """Move `size` bytes in `step`-sized pieces, at most `max_concurrency` at a time;
        each piece is read into a reused buffer and written from it (1 copy in all)."""
        gate = asyncio.Semaphore(self.max_concurrency)
        buffers = self.link.buffers

        async def one(offset: int) -> None:
            async with gate:
                length = min(step, size - offset)
                buf = buffers.acquire(length)
                try:
                    view = memoryview(buf)[:length]
                    count = await read(offset, view)
                    if count != length:
                        raise error(
                            Code.INTERNAL, f"read {count} bytes at {offset}, expected {length}"
                        )
                    await write(offset, view)
                finally:
                    buffers.release(buf)

        await asyncio.gather(*(one(offset) for offset in range(0, size, step)))

    async def _cp_file(self: FlyfsFileSystem, path1, path2, **kwargs):
        """Streamed chunk by chunk through the data plane; no local copy, no temp file."""
        src, dst = self._strip_protocol(path1), self._strip_protocol(path2)
        source = await self._stat(src)
        if source.type == DIRECTORY:  # a recursive copy names directories too
            await self._makedirs(dst, exist_ok=True)
            return

        async def fill(inode: meta_pb2.Inode) -> int:
            await self._pump(
                source.size,
                inode.layout.chunk_size,
                lambda offset, view: self._read_inode_into(source, offset, view),
                lambda offset, view: self._write_inode(inode, offset, view),
            )
            return source.size

        await self._write_file(dst, "wb", fill, **kwargs)

    async def _put_file(
        self: FlyfsFileSystem, lpath, rpath, callback=DEFAULT_CALLBACK, mode="overwrite", **kwargs
    ):
        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath):
            await self._makedirs(rpath, exist_ok=True)
            return
        with open(lpath, "rb") as local:
            size = os.fstat(local.fileno()).st_size
            callback.set_size(size)

            async def read(offset: int, view: memoryview) -> int:
                return await asyncio.to_thread(os.preadv, local.fileno(), [view], offset)

            async def fill(inode: meta_pb2.Inode) -> int:
                async def write(offset: int, view: memoryview) -> None:
                    await self._write_inode(inode, offset, view)
                    callback.relative_update(view.nbytes)

                await self._pump(size, inode.layout.chunk_size, read, write)
                return size

            await self._write_file(rpath, "xb" if mode == "create" else "wb", fill, **kwargs)

    async def _get_file(self: FlyfsFileSystem, rpath, lpath, callback=DEFAULT_CALLBACK, **kwargs):
        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath) and await self._isdir(rpath):
            return
        inode = await self._stat(rpath)
        if inode.type == DIRECTORY:
            os.makedirs(lpath, exist_ok=True)
            return
        callback.set_size(inode.size)
        with open(lpath, "wb") as local:

            async def write(offset: int, view: memoryview) -> None:
                await asyncio.to_thread(os.pwritev, local.fileno(), [view], offset)
                callback.relative_update(view.nbytes)

            await self._pump(
                inode.size,
                inode.layout.chunk_size,
                lambda offset, view: self._read_inode_into(inode, offset, view),
                write,
            )
