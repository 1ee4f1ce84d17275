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

import ctypes
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


# ---- owned results, filled in place --------------------------------------------------------------

_PyBytes_FromStringAndSize = ctypes.pythonapi.PyBytes_FromStringAndSize
_PyBytes_FromStringAndSize.restype = ctypes.py_object
_PyBytes_FromStringAndSize.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
# Where a bytes object's data starts: PyBytesObject's ob_sval, its last member.
_BYTES_DATA_OFFSET = bytes.__basicsize__ - 1
_HUGE_BYTES = 2 << 20
_MADV_HUGEPAGE = 14
_libc = ctypes.CDLL(None, use_errno=True)


def new_bytes(size: int) -> tuple[bytes, memoryview]:
    """A new `bytes` of `size` bytes and a writable view of its contents.

    For results that must be owned, immutable `bytes` (fsspec's `cat_file`):
    the data plane receives straight into the object, where a `bytearray`
    would need one more copy of every byte into a `bytes`.  This is
    `PyBytes_FromStringAndSize(NULL, size)`, CPython's own way of building a
    bytes object before filling it; the caller must fill the view and drop
    it before anyone else sees the object (its hash is not computed until
    then).  Large objects ask for transparent huge pages: first-touch page
    faults were half the cost of receiving into fresh memory.
    """
    if size <= 0:
        return b"", memoryview(bytearray())
    obj = _PyBytes_FromStringAndSize(None, size)
    address = id(obj) + _BYTES_DATA_OFFSET
    if size >= _HUGE_BYTES:
        page = mmap.PAGESIZE
        start = -(-address // page) * page
        _libc.madvise(
            ctypes.c_void_p(start),
            ctypes.c_size_t((address + size - start) // page * page),
            _MADV_HUGEPAGE,
        )
    view = memoryview((ctypes.c_char * size).from_address(address)).cast("B")
    return obj, view
