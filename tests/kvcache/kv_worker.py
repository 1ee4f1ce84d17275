"""A separate process using the KV-cache store: `python kv_worker.py MODE MGMTD LAYOUT ...`.

churn CAPACITY SECONDS SEED: put and get pages for SECONDS; prints "ok PUTS GETS HITS" or
    "WRONG <key>" if a get ever returned a page that is not its key's.
put-forever: put pages, one at a time, until killed (the SIGKILL test).
"""

from __future__ import annotations

import os
import random
import sys
import time

from pages import page_for

from flyfs.client import FlyfsFileSystem, KVCacheStore

PAGE = 200_000  # the slab layout rounds it up to 256 KiB slots


def main() -> None:
    mode, mgmtd, layout = sys.argv[1:4]
    fs = FlyfsFileSystem(cluster=mgmtd, skip_instance_cache=True)
    if mode == "churn":
        capacity, seconds, seed = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
        churn(KVCacheStore(fs, "churn", capacity_bytes=capacity, layout=layout), seconds, seed)
    elif mode == "put-forever":
        store = KVCacheStore(fs, f"killed-{layout}", capacity_bytes=1 << 30, layout=layout)
        rng = random.Random(os.getpid())
        print("started", flush=True)
        for _ in range(100_000):  # until SIGKILL
            tokens = [rng.randrange(256) for _ in range(128)]
            keys = store.keys(tokens)
            store.put_many(keys, [page_for(k, PAGE) for k in keys])


def churn(store: KVCacheStore, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    prompts = [[rng.randrange(256) for _ in range(256)] for _ in range(40)]
    deadline = time.monotonic() + seconds
    puts = gets = hits = 0
    while time.monotonic() < deadline:
        keys = store.keys(rng.choice(prompts))
        cached = store.batch_exists(keys)
        buffers = [bytearray(PAGE) for _ in keys[:cached]]
        got = store.get_many(keys[:cached], buffers)
        for key, buffer, hit in zip(keys[:cached], buffers, got, strict=True):
            gets += 1
            if hit:
                hits += 1
                if bytes(buffer) != page_for(key, PAGE):
                    print("WRONG", key.hex(), flush=True)
                    return
        store.put_many(keys[cached:], [page_for(k, PAGE) for k in keys[cached:]])
        puts += len(keys) - cached
    print("ok", puts, gets, hits, flush=True)


if __name__ == "__main__":
    main()
