"""new_bytes: an owned bytes object filled in place through its view."""

from __future__ import annotations

import ctypes
import mmap
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from flyfs.net import buffers
from flyfs.net.buffers import new_bytes


@pytest.mark.parametrize("size", [0, 1, 4095, 3 << 20])
def test_the_view_fills_the_bytes_object(size: int) -> None:
    data, view = new_bytes(size)
    assert type(data) is bytes and len(data) == size and len(view) == size
    pattern = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    view[:] = pattern
    view.release()
    assert data == pattern
    assert hash(data) == hash(pattern)  # hashed only after filling, as bytes must be


def _resident_pages(address: int, size: int) -> int:
    """How many pages of `[address, address + size)` are in memory (mincore)."""
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    start = address // page * page
    count = -(-(address + size - start) // page)
    vector = (ctypes.c_ubyte * count)()
    assert libc.mincore(ctypes.c_void_p(start), ctypes.c_size_t(count * page), vector) == 0
    return sum(v & 1 for v in vector)


def test_a_large_object_is_faulted_in_before_anyone_writes_it() -> None:
    size = buffers.PREFAULT_BYTES + 12345
    data, view = new_bytes(size)
    address = id(data) + bytes.__basicsize__ - 1
    # The helper thread's work items run in order: one more after them means they are done.
    buffers._prefaulter._executor().submit(lambda: None).result(timeout=30)
    assert _resident_pages(address, size) >= size // mmap.PAGESIZE - 2  # all but the edges
    view[:] = b"\x5a" * size  # and it is still the object's memory, filled in place
    view.release()
    assert data == b"\x5a" * size


def test_a_forked_child_gets_its_own_prefault_thread() -> None:
    first = buffers._prefaulter._executor()
    first.submit(lambda: None).result(timeout=30)  # the parent's thread is running
    held, forked = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # another thread of the parent is inside the pool's lock
        with buffers._prefaulter._lock:
            held.set()
            forked.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(30)
    pid = os.fork()
    if pid:
        forked.set()
        holder.join(30)
    if pid == 0:
        code = 2
        try:
            pool = buffers._prefaulter._executor()
            code = 0 if pool is not first and pool.submit(lambda: 7).result(timeout=10) == 7 else 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:  # bounded by the deadline
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung on the prefault pool")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(done[1]) == 0


CHURN = """
import resource, sys
from flyfs.net import buffers
if sys.argv[1] == "off":
    buffers._heap._done = True  # as if another libc: glibc keeps its own thresholds
BLOCK = 4 << 20
def round_of(count):  # a readahead window filling up, then read and dropped
    blocks = []
    for _ in range(count):
        data, view = buffers.new_bytes(BLOCK)
        view[:: 4096] = b"x" * len(view[:: 4096])  # touch every page, as a payload would
        view.release()
        blocks.append(data)
round_of(12)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    round_of(12)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_freed_blocks_are_reused_without_faulting_pages_in_again(tmp_path) -> None:
    """48 MiB of 4 MiB blocks freed and allocated again, five times, in fresh processes."""
    faults = {}
    for mode in ("on", "off"):
        run = subprocess.run(
            [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
        faults[mode] = int(run.stdout)
    pages = 5 * 12 * (4 << 20) // mmap.PAGESIZE
    assert faults["off"] > pages // 4  # glibc gave blocks back and faulted them in again
    assert faults["on"] < pages // 20
