"""Reused receive buffers for request payloads on a server.

Fresh memory is slow on first touch here (0.4-1 GB/s against 4-10 GB/s for
reused memory, DESIGN.md), so a write payload is received into a buffer that
earlier requests already touched. Buffers come in power-of-two size classes;
at most `max_cached_bytes` are kept idle, the rest go back to the allocator.
One event loop owns a pool: no locking.

A buffer the pool does not hold yet is an anonymous private mapping, not a
`bytearray`: `bytearray(n)` zero-fills, making all n bytes resident before a
byte arrived, while a mapping's pages become resident as the payload is
written into them. So a frame that announces 256 MiB and then sends 1 KiB
costs one page, not 256 MiB (the server still budgets the whole size class,
see `DataServer.max_receive_bytes`).
"""

from __future__ import annotations

import mmap

MIN_CLASS_BYTES = 64 << 10

Buffer = bytearray | mmap.mmap


def size_class(nbytes: int) -> int:
    """The length of the buffer `acquire(nbytes)` returns."""
    return max(MIN_CLASS_BYTES, 1 << max(0, nbytes - 1).bit_length())


class BufferPool:
    def __init__(self, max_cached_bytes: int = 64 << 20) -> None:
        self.max_cached_bytes = max_cached_bytes
        self._free: dict[int, list[Buffer]] = {}
        self._cached = 0

    @property
    def cached_bytes(self) -> int:
        return self._cached

    def acquire(self, nbytes: int) -> Buffer:
        """A buffer of at least `nbytes` (its length is the size class)."""
        size = size_class(nbytes)
        free = self._free.get(size)
        if free:
            self._cached -= size
            return free.pop()
        # Unmapped when the last reference goes (mmap's dealloc), like a bytearray freed.
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)

    def release(self, buf: Buffer) -> None:
        size = len(buf)
        if size & (size - 1) or size < MIN_CLASS_BYTES:
            return  # not one of ours
        if self._cached + size > self.max_cached_bytes:
            return
        self._free.setdefault(size, []).append(buf)
        self._cached += size
