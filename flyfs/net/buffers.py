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

import concurrent.futures
import ctypes
import errno
import mmap
import os
import platform
import threading

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
_MADV_POPULATE_WRITE = 23  # Linux >= 5.14; older kernels say EINVAL and are left alone
PREFAULT_BYTES = 16 << 20  # results this large are faulted in by a helper thread
_PREFAULT_STEP = 8 << 20
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
    faults were half the cost of receiving into fresh memory.  Objects of
    `PREFAULT_BYTES` or more are also faulted in by a helper thread while
    their bytes arrive (see `_Prefaulter`); smaller ones come from heap the
    process freed before (see `_Heap`).
    """
    if size <= 0:
        return b"", memoryview(bytearray())
    _heap.keep_freed_blocks()
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
    if size >= PREFAULT_BYTES:
        _prefaulter.populate(obj, address, size)
    view = memoryview((ctypes.c_char * size).from_address(address)).cast("B")
    return obj, view


class _Heap:
    """Lets glibc keep freed read blocks for the next ones, instead of faulting pages in again.

    Why: a sequential reader frees 4 MiB blocks as fast as it allocates
    new ones, but how many are alive swings with its readahead window (up
    to 64 MiB).  glibc returns the top of a heap to the kernel once more
    than `2 x` its mmap threshold is free there, and sets that threshold
    itself to the largest mmapped chunk freed so far: here 4 MiB, so 8 MiB
    free were trimmed and the next blocks faulted 4 KiB pages in again,
    5,000-10,000 faults per 256 MiB read, on the event loop that receives.
    After one mmapped chunk of 31 MiB is freed, glibc serves requests up to
    31 MiB from the heap and trims past 62 MiB free, as it would in any
    program that freed such a buffer: faults per 256 MiB read fell to 0-1,000
    and `open().read()` in 4 MiB blocks went from 0.60-0.77x raw `sendfile`
    to 0.77-0.85x (bench/client_bench's ladder, same machine).  The cost is
    up to 62 MiB of freed memory per glibc arena the process keeps.  Set
    MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ to choose otherwise:
    glibc then stops adjusting, and this has no effect.  Once per process
    (a forked child inherits the setting); not glibc: nothing.
    """

    CHUNK_BYTES = 31 << 20  # under glibc's ceiling for its dynamic threshold (32 MiB)

    def __init__(self) -> None:
        self._done = platform.libc_ver()[0] != "glibc"

    def keep_freed_blocks(self) -> None:
        if self._done:
            return
        self._done = True
        _libc.free(_libc.malloc(ctypes.c_size_t(self.CHUNK_BYTES)))


_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_heap = _Heap()


class _Prefaulter:
    """Makes fresh memory resident on another core while the event loop fills it.

    Why: on the 2-core VM, zeroing fresh pages ran in the event-loop thread
    that also receives, and at times (huge pages the hypervisor had taken
    back) at 0.4 GB/s: a 256 MiB `cat_file` then took 0.6 s, and its speed
    across passes swung from 0.4 to 3.8 GB/s.  With `MADV_POPULATE_WRITE`
    from a helper thread, 8 MiB at a time from the start, the same passes
    ran at 1.7-3.3 GB/s (median 3.0, against 2.5 for `LocalFileSystem`).
    Populating a page that already arrived changes nothing, so the two
    threads need no coordination; the object is kept alive until its pages
    are done.  One thread per process, started again in a forked child.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._supported = True
        os.register_at_fork(after_in_child=self._forget_parent)

    def _forget_parent(self) -> None:
        """A forked child has the parent's pool without its thread, and maybe its lock held."""
        self._lock = threading.Lock()
        self._pool = None

    def populate(self, obj: bytes, address: int, size: int) -> None:
        if not self._supported:
            return
        page = mmap.PAGESIZE
        start = -(-address // page) * page
        end = (address + size) // page * page
        pool = self._executor()
        for low in range(start, end, _PREFAULT_STEP):  # bounded: size / step submissions
            pool.submit(self._populate, obj, low, min(end, low + _PREFAULT_STEP))

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "flyfs-prefault")
            return self._pool

    def _populate(self, owner: bytes, low: int, high: int) -> None:
        """Fault in `[low, high)`; `owner`, the object holding it, keeps it mapped meanwhile."""
        if _libc.madvise(ctypes.c_void_p(low), ctypes.c_size_t(high - low), _MADV_POPULATE_WRITE):
            # EINVAL: a kernel without it (older than 5.14); anything else is this range's.
            self._supported = ctypes.get_errno() != errno.EINVAL


_prefaulter = _Prefaulter()
