"""The one retry policy every transaction runs under, and its two drivers.

It retries only errors the table marks retryable (conflict, too old, busy),
waiting as `flyfs.backoff` says, bounded in attempts and in time.  "Commit
unknown" (FDB's 1021: the commit may or may not have applied) is handled on
purpose: a body that is idempotent by construction (it checks
its own idempotency record, as meta's mutations do) is retried; any other
raises, because applying it twice could be wrong.

`Attempts` holds every decision; `run_transaction` (a worker thread) and
`run_transaction_inline` (the event loop, for engines whose bodies never
block) only drive it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flyfs.backoff import Backoff
from flyfs.errors import Code, FlyfsError, error

from .api import Engine, EngineTransaction

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 30
    max_total_s: float = 30.0
    first_backoff_s: float = 0.001
    max_backoff_s: float = 0.2


class Attempts:
    """The retry decisions for one transaction, attempt after attempt."""

    def __init__(self, policy: RetryPolicy, idempotent: bool):
        self.idempotent = idempotent
        self.backoff = Backoff(
            policy.max_total_s,
            first_s=policy.first_backoff_s,
            max_s=policy.max_backoff_s,
            attempts=policy.max_attempts,
        )

    def failed(self, exc: FlyfsError) -> float:
        """The delay before the next attempt; raises when there is to be none."""
        retry = self.idempotent if exc.code is Code.KV_COMMIT_UNKNOWN else exc.retryable
        if not retry:
            raise exc
        delay = self.backoff.next_delay()
        if delay is None:
            raise error(
                Code.KV_RETRIES_EXHAUSTED,
                f"gave up after {self.backoff.failures} attempts; last error: {exc}",
            ) from exc
        return delay


def run_transaction(
    engine: Engine,
    body: Callable[[EngineTransaction], T],
    *,
    policy: RetryPolicy,
    idempotent: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `body` in a fresh transaction and commit it, retrying as above.

    `body` may run more than once, so it must have no side effects outside
    the transaction: collect what should happen after commit and return it.
    """
    attempts = Attempts(policy, idempotent)
    while True:
        tr = engine.begin()
        try:
            result = body(tr)
            tr.commit()
            return result
        except FlyfsError as exc:
            delay = attempts.failed(exc)
        finally:
            tr.cancel()
        sleep(delay)


async def run_transaction_inline(
    engine: Engine,
    body: Callable[[EngineTransaction], T],
    *,
    policy: RetryPolicy,
    idempotent: bool,
) -> T:
    """The same, with `body` run on the event loop and the commit awaited.

    For engines whose reads never block (the embedded one): a thread hop
    costs more than the body.  Nothing is held across the await: the body
    has ended its read snapshot before its commit is queued.
    """
    attempts = Attempts(policy, idempotent)
    while True:
        tr = engine.begin()
        try:
            result = body(tr)
            await tr.commit_async()
            return result
        except FlyfsError as exc:
            delay = attempts.failed(exc)
        finally:
            tr.cancel()
        await asyncio.sleep(delay)
