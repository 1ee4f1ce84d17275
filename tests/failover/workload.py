"""A write-and-read load on a real cluster, and the checks that nothing was lost or torn.

The writer writes new files of random sizes (unaligned, up to `max_bytes`)
and records a file's sha256 only after its write returned (`close()` on
fsspec's side: every byte committed on every replica).  Readers read
acknowledged files over and over; any read whose bytes differ from the
acknowledged content is counted as torn, with where it differs (which
chunks, and whether the wrong bytes are zeros: a chunk missing on a replica
reads as a hole).  Content comes from a seeded generator, so a torn read can
be compared with what was written without keeping every file in memory.
Both run on threads, bounded by a stop event and the test's timeout.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster
from flyfs.routing import Routing
from flyfs.storage.chunk_store import ChunkStore

CHUNK_SIZE = 1 << 20
# Short, so a dead node leaves its chains within seconds, yet several heartbeats
# long, so two busy cores do not fake a failure.
LEASE_S = 4.0
HEARTBEAT_S = 0.4


def short_lease_cluster(directory: Path, **storage_config: object) -> LocalCluster:
    """3 storage nodes x 2 targets, chains of 3, the short lease; `storage_config` overrides."""
    return LocalCluster.up(
        directory,
        nodes=3,
        targets_per_node=2,
        replicas=3,
        heartbeat_s=HEARTBEAT_S,
        lease_s=LEASE_S,
        attached=True,
        storage_config=storage_config,
    )


def filesystem(cluster: LocalCluster, **options: object) -> FlyfsFileSystem:
    return FlyfsFileSystem(
        cluster=cluster.mgmtd_address, chunk_size=CHUNK_SIZE, skip_instance_cache=True, **options
    )


@dataclass
class Load:
    """Writes new files, and now and then overwrites or removes an acknowledged one (so
    removals and whole-chunk rewrites run during failovers and resyncs too)."""

    fs: FlyfsFileSystem
    root: str
    max_bytes: int = 20 << 20
    readers: int = 2
    acked: dict[str, str] = field(default_factory=dict)  # path -> sha256 acknowledged
    # What a reader may see at a path now: the acknowledged content, and while an
    # overwrite is under way the new one too (a `wb` file is replaced whole at close).
    allowed: dict[str, set[str]] = field(default_factory=dict)
    written: dict[str, tuple[int, int]] = field(default_factory=dict)  # sha256 -> (seed, size)
    removing: set[str] = field(default_factory=set)  # being or already removed
    ack_times: list[float] = field(default_factory=list)
    acks: int = 0
    reads: int = 0
    torn: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self.fs.makedirs(self.root, exist_ok=True)
        self._threads = [threading.Thread(target=self._write, daemon=True)]
        self._threads += [
            threading.Thread(target=self._read, args=(seed,), daemon=True)
            for seed in range(self.readers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def finish(self, timeout_s: float = 120.0) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
            assert not thread.is_alive(), "a load thread did not stop"

    def wait_acked(self, count: int, timeout_s: float = 60.0) -> None:
        """Until `count` more writes are acknowledged than now."""
        with self._lock:
            target = self.acks + count
        wait_for(lambda: self.acks >= target, timeout_s, f"{count} more writes acknowledged")

    def resumed_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the first write acknowledged after it."""
        with self._lock:
            later = [t for t in self.ack_times if t > moment]
        return min(later) - moment if later else None

    def longest_pause(self, since: float) -> float:
        """The longest time without an acknowledged write, from `since` to the last ack."""
        with self._lock:
            times = [since] + [t for t in self.ack_times if t > since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def _write(self) -> None:
        rng = random.Random(7)
        for n in range(100_000):  # until stopped
            if self.stop.is_set():
                return
            with self._lock:
                settled = sorted(p for p in self.acked if p not in self.removing)
            if n % 6 == 5 and len(settled) > 4:
                self._remove(rng.choice(settled))
            else:
                path = rng.choice(settled) if n % 4 == 3 and settled else f"{self.root}/f{n:05d}"
                self._put(path, n, rng.randrange(1, self.max_bytes))

    def _put(self, path: str, seed: int, size: int) -> None:
        data = content(seed, size)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.written[digest] = (seed, size)
            self.allowed.setdefault(path, set()).add(digest)
        try:
            self.fs.pipe_file(path, data)
        except OSError as exc:
            self.errors.append(f"write {path}: {exc!r}")
            return
        with self._lock:
            self.acked[path] = digest
            self.allowed[path] = {digest}
            self.acks += 1
            self.ack_times.append(time.monotonic())

    def _remove(self, path: str) -> None:
        with self._lock:
            self.removing.add(path)
        try:
            self.fs.rm_file(path)
        except OSError as exc:
            self.errors.append(f"remove {path}: {exc!r}")
            return
        with self._lock:
            del self.acked[path]

    def _read(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            with self._lock:
                paths = list(self.acked)
            if not paths:
                time.sleep(0.05)
                continue
            path = rng.choice(paths)
            with self._lock:
                before = set(self.allowed[path])
            try:
                data = self.fs.cat_file(path)
            except FileNotFoundError:
                if path not in self.removing:
                    self.errors.append(f"read {path}: vanished")
                continue
            except OSError as exc:
                self.errors.append(f"read {path}: {exc!r}")
                continue
            self.reads += 1
            with self._lock:
                after = self.allowed[path]
            if hashlib.sha256(data).hexdigest() not in before | after:
                self.torn.append(f"{path}: {self._difference(data, before | after)}")

    def _difference(self, data: bytes, allowed: set[str]) -> str:
        """How a torn read differs from each content it may have had."""
        with self._lock:
            sources = [self.written[d] for d in sorted(allowed)]
        return "; ".join(describe_difference(data, content(*s)) for s in sources)

    def verify_all(self) -> list[str]:
        """Acknowledged files whose content is not what was acknowledged (lost)."""
        lost = []
        for path, digest in sorted(self.acked.items()):
            try:
                data = self.fs.cat_file(path)
            except OSError as exc:
                lost.append(f"{path}: {exc!r}")
                continue
            if hashlib.sha256(data).hexdigest() != digest:
                lost.append(f"{path}: {self._difference(data, {digest})}")
        return lost


def content(seed: int, size: int) -> bytes:
    """A file's bytes, the same each time for the same seed."""
    return random.Random(seed).randbytes(size)


def describe_difference(got: bytes, want: bytes) -> str:
    """Lengths, the chunks that differ, and whether the wrong bytes read as zeros."""
    common = min(len(got), len(want))
    chunks = [
        at // CHUNK_SIZE
        for at in range(0, common, CHUNK_SIZE)
        if got[at : at + CHUNK_SIZE] != want[at : at + CHUNK_SIZE]
    ]
    zeros = all(not any(got[c * CHUNK_SIZE : (c + 1) * CHUNK_SIZE]) for c in chunks)
    return (
        f"read {len(got)} bytes of {len(want)}; chunks {chunks} differ"
        f"{' (read as zeros)' if chunks and zeros else ''}"
    )


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # bounded by the deadline
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def node_of(cluster: LocalCluster, routing: Routing, target_id: int) -> int:
    """0-based index into `cluster.storage` of the node holding `target_id`."""
    return routing.target(target_id).node_id - 1


def all_serving(cluster: LocalCluster) -> bool:
    routing = cluster.routing()
    return all(len(routing.serving(c.chain_id)) == len(c.target_ids) for c in routing.info.chains)


def target_dirs(cluster: LocalCluster) -> dict[int, Path]:
    dirs = {}
    for server in cluster.storage:
        for target_id, path in zip(server.config.target_ids, server.targets, strict=True):
            dirs[target_id] = path
    return dirs


def compare_replicas(routing: Routing, dirs: dict[int, Path]) -> tuple[int, list[str]]:
    """On a stopped cluster: (chunks checked, differences) over every chain's targets.

    Opens each target's chunk store directly and requires, per chunk, the
    same committed version, client map and bytes on every replica, and no
    pending version anywhere.
    """
    problems: list[str] = []
    checked = 0
    for chain in routing.info.chains:
        stores = {t: ChunkStore(str(dirs[t]), fsync=False) for t in chain.target_ids}
        ids = {t: set(store.chunk_ids()) for t, store in stores.items()}
        union = set().union(*ids.values())
        for cid in sorted(union):
            checked += 1
            seen = {}
            for t, store in stores.items():
                info = store.meta(cid)
                if info is None:
                    problems.append(f"chain {chain.chain_id}: {cid.hex()} missing on {t}")
                    continue
                if info.pending:
                    problems.append(f"chain {chain.chain_id}: {cid.hex()} pending on {t}")
                seen[t] = (info.commit_ver, info.clients, store.read(cid, 0, info.length))
            if len(set(seen.values())) > 1:
                versions = {t: v for t, (v, _, _) in seen.items()}
                problems.append(f"chain {chain.chain_id}: {cid.hex()} differs: {versions}")
    return checked, problems
