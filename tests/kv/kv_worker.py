"""A child process for the multi-process KV tests: `python kv_worker.py MODE CONFIG_JSON N`.

Modes:
  add N        N atomic adds of 1 to b"counter", one transaction each
  rmw N        N read-modify-write increments of b"rmw" (get then set)
  crash        commit b"durable", print "committed"; buffer b"pending" in an
               open transaction, print "pending", then wait to be killed
"""

from __future__ import annotations

import json
import sys
import time

from flyfs.kv import KvConfig, counter, open_database, read_counter


def main() -> None:
    mode, raw_config, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = open_database(KvConfig(**json.loads(raw_config)))
    if mode == "add":
        for _ in range(count):
            db.run(lambda tr: tr.add(b"counter", counter(1)))
    elif mode == "rmw":
        for _ in range(count):
            db.run(lambda tr: tr.set(b"rmw", counter(read_counter(tr.get(b"rmw")) + 1)))
    elif mode == "crash":
        db.run(lambda tr: tr.set(b"durable", b"yes"))
        print("committed", flush=True)
        tr = db.engine.begin()
        tr.set(b"pending", b"never")
        print("pending", flush=True)
        time.sleep(60)
    else:
        raise SystemExit(f"unknown mode {mode}")
    db.close()


if __name__ == "__main__":
    main()
