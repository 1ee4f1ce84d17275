"""The KV-cache store on a real cluster, both layouts: round trips, integrity, capacity with
two processes at once, and SIGKILL mid-put."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import pytest
from fsspec.asyn import sync
from pages import page_for

from flyfs.client import FlyfsFileSystem, KVCacheStore
from flyfs.client.kvcache.slab_pages import slot_size
from flyfs.cluster import LocalCluster

PAGE = 200_000
WORKER = Path(__file__).with_name("kv_worker.py")
LAYOUTS = ["file", "slab"]


@pytest.fixture(scope="module")
def fs(local_cluster: LocalCluster) -> FlyfsFileSystem:
    return FlyfsFileSystem(cluster=local_cluster.mgmtd_address, skip_instance_cache=True)


def _tokens(seed: int, n: int = 64 * 5) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(256) for _ in range(n)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_put_exists_get_delete(fs: FlyfsFileSystem, layout: str) -> None:
    store = KVCacheStore(fs, f"round-{layout}", capacity_bytes=64 << 20, layout=layout)
    keys = store.keys(_tokens(1))
    assert len(keys) == 5 and store.batch_exists(keys) == 0
    store.put_many(keys[:3], [page_for(k, PAGE) for k in keys[:3]])
    assert store.batch_exists(keys) == 3
    assert store.batch_exists([keys[0], keys[4], keys[1]]) == 1  # the run stops at a miss
    buffers = [bytearray(PAGE) for _ in range(4)]
    assert store.get_many(keys[:4], buffers) == [True, True, True, False]
    assert [bytes(b) for b in buffers[:3]] == [page_for(k, PAGE) for k in keys[:3]]
    store.delete([keys[1]])
    assert store.batch_exists(keys) == 1
    assert store.get_many([keys[1]], [bytearray(PAGE)]) == [False]
    # Another process's view (a new store: its own writer, its own index).
    other = KVCacheStore(fs, f"round-{layout}", capacity_bytes=64 << 20, layout=layout)
    assert other.batch_exists(keys) == 1
    into = [bytearray(PAGE), bytearray(PAGE)]
    assert other.get_many([keys[0], keys[2]], into) == [True, True]
    assert bytes(into[1]) == page_for(keys[2], PAGE)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bad_input_is_refused(fs: FlyfsFileSystem, layout: str) -> None:
    store = KVCacheStore(fs, f"bad-{layout}", capacity_bytes=64 << 20, layout=layout)
    key = store.keys(_tokens(2))[0]
    with pytest.raises(ValueError):
        store.get_many([key], [])
    with pytest.raises(ValueError):
        store.put_many([b"short"], [b"x"])
    with pytest.raises(ValueError):
        KVCacheStore(fs, "m", layout="nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KVCacheStore(fsspec.filesystem("memory"), "m")


def test_a_page_under_the_wrong_name_or_torn_is_a_miss_file(fs: FlyfsFileSystem) -> None:
    store = KVCacheStore(fs, "integrity-file", capacity_bytes=64 << 20, layout="file")
    a, b = store.keys(_tokens(3))[:2]
    store.put_many([a, b], [page_for(a, PAGE), page_for(b, PAGE)])
    pages = store._pages
    fs.cp_file(pages.path(a), pages.path(b))  # b's name now holds a's page and tag
    assert store.get_many([b], [bytearray(PAGE)]) == [False]
    fs.write_at(pages.path(a), [(1000, b"torn!")])
    assert store.get_many([a], [bytearray(PAGE)]) == [False]
    assert store.get_many([a], [bytearray(PAGE - 1)]) == [False]  # a buffer of another size


def test_a_torn_or_reused_slot_is_a_miss_slab(fs: FlyfsFileSystem) -> None:
    store = KVCacheStore(fs, "integrity-slab", capacity_bytes=64 << 20, layout="slab")
    a, b = store.keys(_tokens(4))[:2]
    store.put_many([a, b], [page_for(a, PAGE), page_for(b, PAGE)])
    slabs = store._pages
    name, slot = slabs._index[a]
    slab = slabs._known[name]
    path = slabs._path(name)
    fs.write_at(path, [(slab.data_offset(slot) + 10, b"torn!")])
    assert store.get_many([a, b], [bytearray(PAGE), bytearray(PAGE)]) == [False, True]
    # Slot of b now claims to be a: another process's index would find the wrong tag.
    slabs._index[a] = slabs._index[b]
    assert store.get_many([a], [bytearray(PAGE)]) == [False]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_processes_stay_under_the_cap_and_never_get_a_wrong_page(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, layout: str
) -> None:
    slot = slot_size(PAGE)
    capacity = 40 * slot  # about 160 of the workers' 200 distinct pages do not fit
    store = KVCacheStore(fs, "churn", capacity_bytes=capacity, layout=layout)
    argv = [sys.executable, str(WORKER), "churn", local_cluster.mgmtd_address, layout]
    workers = [
        subprocess.Popen(
            [*argv, str(capacity), "12", str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    peak = 0
    try:
        while any(w.poll() is None for w in workers):  # bounded: the workers run 12 s
            peak = max(peak, store.used_bytes())
            time.sleep(0.2)
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    for out, err in outputs:
        assert out.startswith("ok "), err[-3000:]
        puts, gets, hits = map(int, out.split()[1:])
        assert puts > 0 and gets > 0 and hits > 0
    assert 0 < peak <= capacity
    assert store.used_bytes() <= capacity


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sigkill_mid_put_never_exposes_a_half_page(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, layout: str
) -> None:
    argv = [sys.executable, str(WORKER), "put-forever", local_cluster.mgmtd_address, layout]
    rng = random.Random(5)
    for _ in range(6):  # bounded: 6 kills
        worker = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        try:
            assert worker.stdout is not None and worker.stdout.readline() == "started\n"
            time.sleep(rng.uniform(0.2, 1.2))
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    store = KVCacheStore(fs, f"killed-{layout}", capacity_bytes=1 << 30, layout=layout)
    keys = _stored_keys(store)
    assert keys, "no page was ever put"
    buffers = [bytearray(PAGE) for _ in keys]
    hits = store.get_many(keys, buffers)
    assert all(hits)  # every page findable under its key is whole
    assert all(bytes(b) == page_for(k, PAGE) for k, b in zip(keys, buffers, strict=True))


def _stored_keys(store: KVCacheStore) -> list[bytes]:
    """Every key a reader can find: slab tags confirmed, or page files under their names."""
    pages = store._pages
    if store.layout == "slab":
        sync(store.fs.loop, pages.refresh)
        return list(pages._index)
    names = [n.rsplit("/", 1)[-1] for n in store.fs.ls(pages.directory, detail=False)]
    return [bytes.fromhex(n) for n in names if not n.startswith(".")]
