"""SIGKILL a writer hundreds of times: every chunk is always a whole committed version.

The writer (`chunk_crash_writer.run`) is forked rather than exec'd so a kill
cycle costs milliseconds, not an interpreter start; the script also runs on
its own.  After each kill the target is reopened (recovery runs) and every
chunk must be its last acknowledged version or one begun since, with every
block CRC verifying; a pending version must be exactly the one in flight.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time

import chunk_crash_writer as victim

from flyfs.storage import checksums
from flyfs.storage.chunk_meta import decode
from flyfs.storage.chunk_store import ChunkStore

KILLS = 300
MIN_KILLS, MIN_COMMITS = 100, 50
# A busy machine commits less between kills: the loop goes on past KILLS until
# MIN_COMMITS were acknowledged, within this bound.
MAX_SECONDS = 60.0
EMPTY = (0, hashlib.sha256(b"").hexdigest())


def _spawn(target: str, seed: int) -> tuple[int, int]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        try:
            os.close(r)
            victim.run(target, seed, w)
        finally:
            os._exit(0)
    os.close(w)
    return pid, r


def _drain(fd: int) -> bytes:
    out = bytearray()
    for _ in range(1 << 20):
        part = os.read(fd, 1 << 16)
        if not part:
            break
        out += part
    os.close(fd)
    return bytes(out)


def _pending_of(store: ChunkStore, cid: bytes) -> tuple[int, str]:
    """Version and content hash of the pending file, after verifying its blocks."""
    with open(store._file(cid, "p"), "rb") as f:
        raw = f.read()
    version, off = decode(raw)
    data = raw[off : off + version.length]
    assert checksums.bad_blocks(data, 0, version.block_crcs, version.length) == []
    return version.version, hashlib.sha256(data).hexdigest()


def test_sigkill_never_tears_a_chunk(tmp_path):
    target = str(tmp_path / "target")
    rng = random.Random(1234)
    acked = {cid.hex(): EMPTY for cid in victim.CHUNKS}
    # Versions begun since the last acknowledged one: a kill between commit
    # and DONE leaves one committed unannounced, and the next run begins another.
    inflight: dict[str, list[tuple[int, str]]] = {c.hex(): [] for c in victim.CHUNKS}
    start = time.monotonic()
    kills = done = seen_pending = seen_inflight_committed = 0
    while (kills < KILLS or done < MIN_COMMITS) and time.monotonic() - start < MAX_SECONDS:
        pid, r = _spawn(target, rng.getrandbits(32))
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        text = _drain(r).decode()
        for line in text.split("\n")[:-1]:  # the last piece is empty or a cut line
            word, chex, ver, sha = line.split()
            if word == "BEGIN":
                inflight[chex].append((int(ver), sha))
            else:
                acked[chex] = (int(ver), sha)
                inflight[chex].clear()
                done += 1
        store = ChunkStore(target, fsync=False)
        for cid in victim.CHUNKS:
            allowed = {acked[cid.hex()], *inflight[cid.hex()]}
            info = store.meta(cid)
            if info is None or info.commit_ver == 0:
                state = EMPTY
            else:
                content = store.read(cid, 0, victim.CHUNK_SIZE)  # raises on a bad CRC
                assert store.verify(cid) == []
                state = (info.commit_ver, hashlib.sha256(content).hexdigest())
            assert state in allowed, f"kill {kills}: {cid.hex()} is {state}, allowed {allowed}"
            if state != acked[cid.hex()]:
                seen_inflight_committed += 1
            if info is not None and info.pending:
                seen_pending += 1
                assert _pending_of(store, cid) == inflight[cid.hex()][-1]
        root = os.path.join(target, "chunks")
        leftovers = [
            n for d in os.listdir(root) for n in os.listdir(os.path.join(root, d)) if ".tmp" in n
        ]
        assert leftovers == []
        # Nothing was found torn and moved aside either.
        assert not os.path.exists(os.path.join(target, "corrupt")), f"kill {kills}"
    elapsed = time.monotonic() - start
    print(
        f"{kills} kills in {elapsed:.1f}s, {done} commits acknowledged, "
        f"{seen_pending} pending left, {seen_inflight_committed} in-flight found committed"
    )
    assert kills >= MIN_KILLS and done >= MIN_COMMITS
    assert seen_pending > 0 or seen_inflight_committed > 0  # kills did land mid-update
