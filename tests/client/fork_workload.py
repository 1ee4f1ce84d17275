"""Run as a script by test_fs_fork.py: a fresh interpreter, as a user's training job is.

`python fork_workload.py SCENARIO MGMTD BASE` exits 0 when the scenario worked.  The
filesystem comes first (before torch, before anything imports gRPC), as it would in a
user's script, so `flyfs.client` can turn gRPC's fork support on.
"""

from __future__ import annotations

import os
import random
import sys
import threading

import fsspec

CHUNK = 64 << 10
ITEMS = 16
DATA = random.Random(7).randbytes(8 * CHUNK + 5)


def make_fs(address: str):
    return fsspec.filesystem("flyfs", cluster=address, chunk_size=CHUNK)


class Shards:
    """A map-style dataset: each item reads a range and writes a file (a meta mutation)."""

    def __init__(self, fs, base: str) -> None:
        self.fs, self.base = fs, base

    def __len__(self) -> int:
        return ITEMS

    def __getitem__(self, i: int) -> tuple[int, bytes]:
        start = i * CHUNK // 2
        piece = self.fs.cat_file(f"{self.base}/shard", start, start + CHUNK)
        assert read_in_blocks(self.fs, f"{self.base}/shard") == DATA
        self.fs.pipe_file(f"{self.base}/out/{i}", piece[:100])
        return i, piece


def read_in_blocks(fs, path: str) -> bytes:
    """The whole file by `open().read()` of one chunk at a time: the readahead's stream,
    whose fetches run on fsspec's loop and on `client.loops`' own."""
    with fs.open(path, "rb") as f:
        return b"".join(iter(lambda: f.read(CHUNK), b""))


def collate(batch):
    return batch


def check(fs, base: str, batches) -> None:
    seen = {i: piece for batch in batches for i, piece in batch}
    assert sorted(seen) == list(range(ITEMS)), sorted(seen)
    for i, piece in seen.items():
        start = i * CHUNK // 2
        assert piece == DATA[start : start + CHUNK], i
        assert fs.cat_file(f"{base}/out/{i}") == DATA[start : start + 100], i


class BusyParent:
    """Keeps the parent reading and writing (calls in flight) while it forks."""

    def __init__(self, fs, base: str, write: bool) -> None:
        self.fs, self.base, self.write = fs, base, write
        self.stop, self.failures, self.rounds = threading.Event(), [], 0
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                n = self.rounds
                if self.write:
                    self.fs.pipe_file(f"{self.base}/parent-{n % 3}", DATA[: CHUNK + n])
                    assert self.fs.cat_file(f"{self.base}/parent-{n % 3}") == DATA[: CHUNK + n]
                assert self.fs.cat_file(f"{self.base}/shard") == DATA
                assert read_in_blocks(self.fs, f"{self.base}/shard") == DATA
                self.rounds += 1
            except BaseException as exc:
                self.failures.append(exc)
                return

    def __enter__(self) -> BusyParent:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()
        assert not self.failures, self.failures
        assert self.rounds > 0


def bare_forks(fs, base: str) -> None:
    with BusyParent(fs, base, write=True):
        for k in range(10):
            pid = os.fork()
            if pid == 0:
                ok = False
                try:
                    ok = fs.cat_file(f"{base}/shard", 5, CHUNK + 5) == DATA[5 : CHUNK + 5]
                    ok = ok and read_in_blocks(fs, f"{base}/shard") == DATA
                    fs.pipe_file(f"{base}/child-{k}", DATA[:k])
                    ok = ok and fs.cat_file(f"{base}/child-{k}") == DATA[:k]
                finally:
                    os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, f"child {k} failed"
    assert all(fs.cat_file(f"{base}/child-{k}") == DATA[:k] for k in range(10))


def data_loader(fs, base: str, scenario: str) -> None:
    from torch.utils.data import DataLoader

    context = "fork" if scenario.startswith("fork") else scenario
    persistent = scenario != "fork"
    loader = DataLoader(
        Shards(fs, base),
        batch_size=4,
        num_workers=2,
        multiprocessing_context=context,
        collate_fn=collate,
        persistent_workers=persistent,
    )
    with BusyParent(fs, base, write=False):  # a read in flight in the parent at fork time
        for _ in range(2):  # two epochs: forked twice, or the same persistent workers
            check(fs, base, list(loader))


def main(scenario: str, address: str, base: str) -> None:
    fs = make_fs(address)
    fs.pipe_file(f"{base}/shard", DATA)
    assert fs.ls(base, detail=False)  # channels and data-plane connections are open
    if scenario == "bare":
        bare_forks(fs, base)
    else:
        data_loader(fs, base, scenario)
    assert fs.cat_file(f"{base}/shard") == DATA  # the parent still works afterwards


if __name__ == "__main__":
    main(*sys.argv[1:])
    print("ok")
