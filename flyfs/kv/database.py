"""The handle services hold: a KV engine behind one retry loop and an async face.

Transaction bodies are synchronous functions run whole on one worker thread,
retry loop included, so a `grpc.aio` server awaits `run_async` and never
holds an engine lock across event-loop turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .api import Engine, ReadTransaction, Transaction
from .retry import RetryPolicy, run_transaction, run_transaction_inline

T = TypeVar("T")


class Database:
    def __init__(self, engine: Engine, *, policy: RetryPolicy | None = None, workers: int = 8):
        self.engine = engine
        self.policy = policy or RetryPolicy()
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def run(self, body: Callable[[Transaction], T], *, idempotent: bool = False) -> T:
        """Run a read-write transaction body to commit (see `run_transaction`)."""
        return run_transaction(self.engine, body, policy=self.policy, idempotent=idempotent)

    def read(self, body: Callable[[ReadTransaction], T]) -> T:
        """Run a read-only body; its commit writes nothing, so it is always safe to retry."""
        return run_transaction(self.engine, body, policy=self.policy, idempotent=True)

    async def run_async(
        self, body: Callable[[Transaction], T], *, idempotent: bool = False, inline: bool = False
    ) -> T:
        """`run` from an event loop.

        With `inline`, on an engine that allows it, the body runs on the loop
        and only its commit goes to a worker: for short bodies, where the
        thread hop would cost more than the work.  Bodies that scan a lot
        (listings, batches) should leave `inline` off.
        """
        if inline and self.engine.inline_bodies:
            return await run_transaction_inline(
                self.engine, body, policy=self.policy, idempotent=idempotent
            )
        return await self._in_worker(lambda: self.run(body, idempotent=idempotent))

    async def read_async(self, body: Callable[[ReadTransaction], T], *, inline: bool = False) -> T:
        return await self.run_async(body, idempotent=True, inline=inline)

    async def _in_worker(self, call: Callable[[], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="kv")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.engine.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
