"""Per-chunk mutual exclusion for async code running on several event loops.

A CRAQ update holds its chunk's lock from staging through forwarding to
commit (flyfs.storage.craq), an await on the network; the data plane runs
several event loops in threads (flyfs.net.server), so neither a
`threading.Lock` (it would block a loop) nor an `asyncio.Lock` (it belongs
to one loop) fits.  Waiters queue in FIFO order under a short thread lock
and are woken on their own loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import AsyncIterator, Hashable

_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]


class ChunkLocks:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        # key -> its waiters; a key present means the lock is held.
        self._held: dict[Hashable, collections.deque[_Waiter]] = {}

    @property
    def held(self) -> int:
        return len(self._held)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release(key)

    async def _acquire(self, key: Hashable) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            waiters = self._held.get(key)
            if waiters is None:
                self._held[key] = collections.deque()
                return
            granted: asyncio.Future[None] = loop.create_future()
            waiters.append((loop, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release(key)  # granted, then cancelled before it ran: pass it on
            raise

    def _release(self, key: Hashable) -> None:
        with self._mutex:
            waiters = self._held[key]
            if not waiters:
                del self._held[key]
                return
            loop, granted = waiters.popleft()
        loop.call_soon_threadsafe(self._grant, key, granted)

    def _grant(self, key: Hashable, granted: asyncio.Future[None]) -> None:
        if granted.cancelled():
            self._release(key)  # its waiter left: the next one gets it
        else:
            granted.set_result(None)
