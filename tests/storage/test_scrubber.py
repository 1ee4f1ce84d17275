"""A rotted block is never returned as data, and the scrubber finds it."""

from __future__ import annotations

import os

import pytest
from storage_helpers import put

from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id
from flyfs.storage.checksums import BLOCK
from flyfs.storage.chunk_meta import data_offset
from flyfs.storage.scrubber import Scrubber

CHUNK = 4 << 20


def corrupt(store, cid, block: int) -> None:
    path = store._file(cid, "c")
    with open(path, "r+b") as f:
        f.seek(data_offset(CHUNK) + block * BLOCK + 17)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))


def test_corrupt_block_fails_read_and_scrub(store):
    good, bad = chunk_id(1, 0), chunk_id(1, 1)
    data = os.urandom(4 * BLOCK)
    put(store, good, 0, data)
    put(store, bad, 0, data)
    corrupt(store, bad, 2)
    with pytest.raises(FlyfsError) as exc:
        store.read(bad, 2 * BLOCK + 10, 5)
    assert exc.value.code == Code.CHECKSUM_MISMATCH
    assert store.read(bad, 0, 2 * BLOCK) == data[: 2 * BLOCK]  # other blocks still fine
    # The sendfile path does not verify: it hands out the CRC the receiver will check.
    with store.open_read(bad, 2 * BLOCK, BLOCK) as h:
        assert h.first_block == 2 and len(h.block_crcs) == 1
    reported = []
    scrubber = Scrubber(store, bytes_per_s=1 << 40, on_mismatch=reported.append)
    found = scrubber.run_once()
    assert [(m.chunk_id, m.bad_blocks) for m in found] == [(bad, (2,))]
    assert reported == found
    assert scrubber.chunks_checked == 2


def test_scrubber_rate_is_bounded(store):
    for i in range(4):
        put(store, chunk_id(2, i), 0, b"x" * BLOCK)
    now = [0.0]
    slept = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    scrubber = Scrubber(store, bytes_per_s=BLOCK, clock=lambda: now[0], sleep=sleep)
    assert scrubber.run_once() == []
    assert sum(slept) == pytest.approx(4.0)  # 4 blocks at one block per second
    # And a time budget stops a pass early.
    assert Scrubber(store, BLOCK, clock=lambda: now[0], sleep=sleep).run_once(0) == []
