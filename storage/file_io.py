"""File I/O the chunk engine needs: whole reads and writes, kernel copies, durable renames.

Each loop is bounded: a short read or write that makes no progress is an
error, never a spin.
"""

from __future__ import annotations

import errno
import os

from flyfs.errors import Code, error

_COPY_STEP = 16 << 20
_MAX_IO_STEPS = 1 << 16  # bound on short read/write/copy retries per call


def fsync_dir(path: str) -> None:
    """Make renames and unlinks in `path` durable (a power cut, not just SIGKILL)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pread_exact(fd: int, size: int, offset: int) -> bytearray:
    buf = bytearray(size)
    pread_into(fd, memoryview(buf), offset)
    return buf


def pread_into(fd: int, view: memoryview, offset: int) -> memoryview:
    """Fill `view` from `fd` at `offset` (a short file is a checksum failure); return it."""
    size = len(view)
    got = 0
    for _ in range(_MAX_IO_STEPS):
        if got == size:
            return view
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    raise error(Code.CHECKSUM_MISMATCH, f"chunk file short: {got} of {size} bytes")


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    done = 0
    for _ in range(_MAX_IO_STEPS):
        if done == len(data):
            return
        done += os.pwrite(fd, data[done:], offset + done)
    raise error(Code.INTERNAL, "pwrite made no progress")


def copy_range(src_path: str, dst_fd: int, size: int, src_off: int, dst_off: int) -> None:
    """Copy `size` bytes file → file in the kernel (0 copies in Python)."""
    src = os.open(src_path, os.O_RDONLY)
    try:
        done = 0
        for _ in range(_MAX_IO_STEPS):
            if done >= size:
                return
            step = min(_COPY_STEP, size - done)
            try:
                n = os.copy_file_range(src, dst_fd, step, src_off + done, dst_off + done)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                # Explicit fallback: one copy through user space.
                chunk = os.pread(src, step, src_off + done)
                n = os.pwrite(dst_fd, chunk, dst_off + done)
            if n == 0:
                break
            done += n
    finally:
        os.close(src)
    raise error(Code.INTERNAL, f"copy of committed data stopped at {done} of {size}")
