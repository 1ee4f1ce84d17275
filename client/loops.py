"""Event loops beside fsspec's, so more than one thread receives data-plane payloads.

Why: a 4 MiB payload's `recv_into` is a copy out of the kernel of about a
millisecond, and one event loop makes them one after another while the
other core idles.  With fetches split over fsspec's loop and one more, 8
chunk reads in flight ran at 0.84-0.95x raw `sendfile` with 4 blocking
threads, against 0.79-0.80x on fsspec's loop alone (same runs, 3 local
nodes, 2 cores): each `recv_into` releases the GIL, so two loops copy at
once.  Sequential readers (`reader._Stream`) spread their fetches over
`loops()`; everything else stays on fsspec's loop.

The extra loops are daemon threads, one set per process, started on first
use, and again in a forked child on its first use (the parent's threads
are not there).
Each loop's connections are its own: `ChunkIO` keeps a pool per loop.
"""

from __future__ import annotations

import asyncio
import os
import threading

DEFAULT_DATA_LOOPS = 2


class _ExtraLoops:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: list[asyncio.AbstractEventLoop] = []
        # In a forked child none of the parent's threads run, and one of them may have
        # held the lock at the fork.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._loops = []

    def get(self, count: int) -> list[asyncio.AbstractEventLoop]:
        """`count` running loops of this process, started as needed."""
        with self._lock:
            while len(self._loops) < count:  # bounded: by count
                loop = asyncio.new_event_loop()
                name = f"flyfs-data-loop-{len(self._loops) + 1}"
                threading.Thread(target=loop.run_forever, name=name, daemon=True).start()
                self._loops.append(loop)
            return self._loops[:count]


_extra = _ExtraLoops()


def loops(main: asyncio.AbstractEventLoop, count: int) -> list[asyncio.AbstractEventLoop]:
    """`main` (fsspec's loop) and `count - 1` more: the loops a sequential read fetches on."""
    return [main, *_extra.get(max(0, count - 1))]
