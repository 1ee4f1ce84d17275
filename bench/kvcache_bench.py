"""KV-cache reload: flyfs (file and slab layouts) against Redis and against recompute.

    python bench/kvcache_bench.py [--rounds 5] [--dir D]

Needs Debian's `redis-server` on PATH (`apt-get install redis-server`) and
the `bench` extra (`redis`, `hiredis`).  One run starts a local flyfs
cluster (3 storage nodes x 2 targets, chains of 3) and a Redis server on
127.0.0.1 (no persistence), both in child processes, and measures:

1. Time to first token (TTFT) of the trainer's byte model (1 M
   parameters, 5 layers, 320 KiB of K/V per 64-token page) for prompts of
   a cached prefix plus 16 new tokens: recompute (prefill of the whole
   prompt) against loading the prefix's pages and prefilling the 16
   tokens (`flyfs.trainer.kv_pages.cached_prefill`), from flyfs in both
   layouts and from Redis.  Redis holds pages as LMCache's Redis
   connector does, `<key>kv_bytes` and `<key>metadata`, both fetched in
   one pipelined MGET.  Prefixes of 64 to 8,192 tokens; the breakeven is
   the shortest prefix at which flyfs's faster layout beats recompute.
2. put and get GB/s of 1,000 pages of the trainer's size and of 100 pages
   of 8 MiB (64 tokens x 128 KiB: the per-token K/V of an 8B model with
   grouped-query attention), flyfs (both layouts) against Redis, each
   page read into a caller's buffer.

Every figure is the median of `--rounds` passes, the contenders of a
group taking turns (a, b, c, a, b, c, ...).  Targets (issue 10): a
2,048-token prefix reloads in <= 0.5x Redis's TTFT and <= 0.2x
recompute's; get >= 2x Redis's GB/s at the 8 MiB page size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

import flyfs.client  # noqa: F401  (before grpc: fork support; see flyfs.client)
from flyfs.client import FlyfsFileSystem, KVCacheStore, page_keys
from flyfs.cluster import LocalCluster
from flyfs.process import process_start_time, spawn_server, stop_process
from flyfs.trainer.generate import prefill
from flyfs.trainer.kv_pages import cached_prefill, page_bytes
from flyfs.trainer.model import ByteTransformer, ModelConfig

PAGE_TOKENS = 64
SUFFIX = 16
PREFIXES = (64, 128, 256, 512, 1024, 2048, 4096, 8192)
REPORTED = (512, 2048, 8192)
BIG_PAGE = 8 << 20


class RedisPages:
    """The store interface `cached_prefill` uses, on Redis, laid out as LMCache does."""

    def __init__(self, client, model_id: str, page_tokens: int = PAGE_TOKENS) -> None:
        self.client = client
        self.model_id = model_id
        self.page_tokens = page_tokens

    def keys(self, tokens: Sequence[int]) -> list[bytes]:
        return page_keys(self.model_id, tokens, self.page_tokens)

    def batch_exists(self, keys: Sequence[bytes]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key.hex() + "metadata")
        found = pipe.execute()
        return next((i for i, hit in enumerate(found) if not hit), len(found))

    def get_many(self, keys: Sequence[bytes], into: Sequence[memoryview]) -> list[bool]:
        names = [n for k in keys for n in (k.hex() + "kv_bytes", k.hex() + "metadata")]
        values = self.client.mget(names)
        hits = []
        for i, buffer in enumerate(into):
            data, meta = values[2 * i], values[2 * i + 1]
            ok = data is not None and meta is not None and int(meta) == len(data) == len(buffer)
            if ok:
                buffer[:] = data  # redis-py hands out bytes: one copy into the caller's buffer
            hits.append(ok)
        return hits

    def put_many(self, keys: Sequence[bytes], pages: Sequence[memoryview]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, page in zip(keys, pages, strict=True):
            pipe.set(key.hex() + "kv_bytes", bytes(page))
            pipe.set(key.hex() + "metadata", str(len(page)))
        pipe.execute()


def start_redis(directory: Path):
    """A Redis server on a free port of 127.0.0.1, no persistence; (process, port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("kvcache_bench needs Debian's redis-server: apt-get install redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(directory), "--protected-mode", "yes"]  # fmt: skip
    proc = spawn_server(argv, log_path=directory / "redis.log")
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:  # bounded by the deadline
        try:
            client.ping()
            return proc, client
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.05)


def median_time(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ttft_table(model: ByteTransformer, stores: dict[str, object], rounds: int) -> dict:
    rng = random.Random(0)
    results: dict[int, dict[str, float]] = {}
    for length in PREFIXES:
        prefix = [rng.randrange(256) for _ in range(length)]
        for store in stores.values():  # warm: the prefix's pages cached everywhere
            cached_prefill(model, store, [*prefix, 0])  # type: ignore[arg-type]
        prompts = [prefix + [rng.randrange(256) for _ in range(SUFFIX)] for _ in range(rounds)]
        times: dict[str, list[float]] = {name: [] for name in ["recompute", *stores]}
        for prompt in prompts:  # contenders take turns
            started = time.perf_counter()
            prefill(model, torch.tensor([prompt]))
            times["recompute"].append(time.perf_counter() - started)
            for name, store in stores.items():
                started = time.perf_counter()
                _, _, stats = cached_prefill(model, store, prompt)  # type: ignore[arg-type]
                times[name].append(time.perf_counter() - started)
                assert stats.cached_pages == length // PAGE_TOKENS, (name, stats)
        results[length] = {name: statistics.median(t) for name, t in times.items()}
    return results


def throughput(stores: dict[str, object], count: int, size: int, rounds: int) -> dict:
    rng = random.Random(size)
    figures: dict[str, dict[str, list[float]]] = {n: {"put": [], "get": []} for n in stores}
    pages = [memoryview(os.urandom(size)) for _ in range(min(count, 8))]
    for r in range(rounds):
        keys = [rng.randbytes(32) for _ in range(count)]
        data = [pages[i % len(pages)] for i in range(count)]
        into = [memoryview(bytearray(size)) for _ in range(count)]
        for name, store in stores.items():
            started = time.perf_counter()
            for at in range(0, count, 100):
                store.put_many(keys[at : at + 100], data[at : at + 100])  # type: ignore[attr-defined]
            figures[name]["put"].append(count * size / (time.perf_counter() - started) / 1e9)
            started = time.perf_counter()
            hits = []
            for at in range(0, count, 100):
                hits += store.get_many(keys[at : at + 100], into[at : at + 100])  # type: ignore[attr-defined]
            figures[name]["get"].append(count * size / (time.perf_counter() - started) / 1e9)
            assert all(hits) and bytes(into[-1]) == bytes(data[-1]), name
            if hasattr(store, "delete") and r < rounds - 1:
                store.delete(keys)  # type: ignore[attr-defined]
    return {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        redis_proc, redis_client = start_redis(Path(tmp))
        try:
            with LocalCluster.up(Path(tmp) / "cluster", lease_s=60.0) as cluster:
                run(cluster, redis_client, args.rounds)
        finally:
            start_time = process_start_time(redis_proc.pid)
            if start_time is not None:
                stop_process(redis_proc.pid, start_time, 10.0)
            redis_proc.wait()


def run(cluster: LocalCluster, redis_client, rounds: int) -> None:
    fs = FlyfsFileSystem(cluster=cluster.mgmtd_address, skip_instance_cache=True)
    torch.manual_seed(0)
    config = ModelConfig(max_len=max(PREFIXES) + 2 * SUFFIX)
    model = ByteTransformer(config).eval()
    capacity = 16 << 30
    stores = {
        "flyfs file": KVCacheStore(fs, "bench-ttft", PAGE_TOKENS, capacity, "file"),
        "flyfs slab": KVCacheStore(fs, "bench-ttft", PAGE_TOKENS, capacity, "slab"),
        "redis": RedisPages(redis_client, "bench-ttft"),
    }
    print(
        f"model: {model.parameter_count():,} parameters, {config.layers} layers;"
        f" page = {PAGE_TOKENS} tokens = {page_bytes(config, PAGE_TOKENS) // 1024} KiB of K/V"
    )
    table = ttft_table(model, stores, rounds)
    print(f"\nTTFT, ms (prefix cached, {SUFFIX} new tokens; median of {rounds})")
    names = ["recompute", *stores]
    print(f"{'prefix':>7} " + " ".join(f"{n:>11}" for n in names) + "   best/redis best/recompute")
    for length in PREFIXES:
        row = table[length]
        best = min(row["flyfs file"], row["flyfs slab"])
        mark = "*" if length in REPORTED else " "
        print(
            f"{length:>6}{mark} "
            + " ".join(f"{row[n] * 1e3:11.1f}" for n in names)
            + f"   {best / row['redis']:10.2f} {best / row['recompute']:14.2f}"
        )
    breakeven = next(
        (n for n in PREFIXES if min(table[n]["flyfs file"], table[n]["flyfs slab"])
         < table[n]["recompute"]), None)  # fmt: skip
    print(
        f"breakeven: flyfs reload beats recompute from a {breakeven}-token prefix on"
        if breakeven
        else "breakeven: recompute won at every prefix length"
    )
    print("targets at 2,048 tokens: <= 0.5x redis, <= 0.2x recompute")

    for count, size, label in ((1000, page_bytes(config, PAGE_TOKENS), "trainer"),
                               (100, BIG_PAGE, "8 MiB")):  # fmt: skip
        stores = {
            "flyfs file": KVCacheStore(fs, f"bench-{label}", PAGE_TOKENS, capacity, "file"),
            "flyfs slab": KVCacheStore(fs, f"bench-{label}", PAGE_TOKENS, capacity, "slab"),
            "redis": RedisPages(redis_client, f"bench-{label}"),
        }
        figures = throughput(stores, count, size, rounds=max(2, rounds // 2))
        print(f"\n{count} pages of {size / 2**20:.2f} MiB ({label}), GB/s:")
        for name, f in figures.items():
            ratio = f["get"] / figures["redis"]["get"]
            print(
                f"  {name:>11}: put {f['put']:6.2f}   get {f['get']:6.2f}   get {ratio:5.2f}x redis"
            )
        redis_client.flushall()
    print("target: get >= 2x redis at 8 MiB pages")


if __name__ == "__main__":
    main()
