"""ChunkLocks: one holder per key across event loops in threads, FIFO, cancellation-safe."""

from __future__ import annotations

import asyncio
import threading

from flyfs.storage.chunk_locks import ChunkLocks


def test_one_holder_per_key_across_loops() -> None:
    locks = ChunkLocks()
    inside = {"a": 0, "b": 0}
    overlaps = []
    entered = []

    async def worker(key: str, rounds: int) -> None:
        for _ in range(rounds):
            async with locks.hold(key):
                inside[key] += 1
                if inside[key] > 1:
                    overlaps.append(key)
                entered.append(key)
                await asyncio.sleep(0.001)
                inside[key] -= 1

    async def both() -> None:
        await asyncio.gather(worker("a", 30), worker("b", 30))

    def thread_main() -> None:
        asyncio.run(both())

    threads = [threading.Thread(target=thread_main) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert overlaps == []
    assert entered.count("a") == entered.count("b") == 90
    assert locks.held == 0


def test_a_cancelled_waiter_passes_the_lock_on() -> None:
    locks = ChunkLocks()

    async def body() -> None:
        order = []
        release = asyncio.Event()

        async def holder() -> None:
            async with locks.hold(1):
                await release.wait()
            order.append("holder")

        async def waiter(name: str) -> None:
            async with locks.hold(1):
                order.append(name)

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(waiter("doomed"))
        last = asyncio.create_task(waiter("last"))
        await asyncio.sleep(0.01)
        doomed.cancel()
        release.set()
        await asyncio.wait_for(asyncio.gather(first, last), 5)
        assert doomed.cancelled()
        assert order == ["holder", "last"]
        assert locks.held == 0

    asyncio.run(body())
