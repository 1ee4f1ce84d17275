"""The victim of the crash test: writes random versions to a few chunks, forever.

For each update it prints `BEGIN <chunk> <version> <sha256 of the new content>`
before starting and `DONE ...` once the version is committed, each line with
one `write(2)` so a kill never leaves half a line that parses.  On start it
commits any pending version a previous incarnation left (as a new head
re-forwards and commits its pending versions).

    python tests/storage/chunk_crash_writer.py TARGET_DIR SEED
"""

from __future__ import annotations

import hashlib
import os
import random
import sys

from flyfs.layout import chunk_id
from flyfs.storage.chunk_store import ChunkStore

CHUNK_SIZE = 1 << 20
CHUNKS = [chunk_id(1, i) for i in range(3)]
MAX_UPDATES = 100_000  # bounded; the parent kills it long before


def _say(fd: int, word: str, cid: bytes, ver: int, content: bytes) -> None:
    line = f"{word} {cid.hex()} {ver} {hashlib.sha256(content).hexdigest()}\n"
    os.write(fd, line.encode())


def run(target: str, seed: int, out_fd: int) -> None:
    rng = random.Random(seed)
    store = ChunkStore(target, fsync=True)
    for cid in CHUNKS:
        info = store.meta(cid)
        if info is not None and info.pending:
            store.commit(cid, info.update_ver)
            _say(out_fd, "DONE", cid, info.update_ver, store.read(cid, 0, CHUNK_SIZE))
    for _ in range(MAX_UPDATES):
        cid = rng.choice(CHUNKS)
        info = store.meta(cid)
        ver = (info.commit_ver if info else 0) + 1
        content = bytearray(store.read(cid, 0, CHUNK_SIZE) if info else b"")
        if rng.random() < 0.1:
            length = rng.randrange(CHUNK_SIZE + 1)
            del content[length:]
            content.extend(bytes(length - len(content)))
            _say(out_fd, "BEGIN", cid, ver, content)
            store.truncate(cid, length, update_ver=ver, chunk_size=CHUNK_SIZE)
        else:
            offset = rng.randrange(CHUNK_SIZE)
            data = rng.randbytes(rng.randrange(1, CHUNK_SIZE - offset + 1))
            if offset > len(content):
                content.extend(bytes(offset - len(content)))
            content[offset : offset + len(data)] = data
            _say(out_fd, "BEGIN", cid, ver, content)
            store.write(cid, offset, data, update_ver=ver, chunk_size=CHUNK_SIZE)
        store.commit(cid, ver)
        _say(out_fd, "DONE", cid, ver, content)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.stdout.fileno())
