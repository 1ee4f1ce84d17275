"""The one retry loop every transaction runs through.

It retries only errors the table marks retryable (conflict, too old, busy),
with capped exponential backoff and full jitter, bounded in attempts and in
time.  "Commit unknown" (FDB's 1021: the commit may or may not have applied)
is handled on purpose: a body that is idempotent by construction (it checks
its own idempotency record, as meta's mutations do) is retried; any other
raises, because applying it twice could be wrong.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flyfs.errors import Code, FlyfsError, error

from .api import Engine, EngineTransaction

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 30
    max_total_s: float = 30.0
    first_backoff_s: float = 0.001
    max_backoff_s: float = 0.2


def _should_retry(exc: FlyfsError, idempotent: bool) -> bool:
    if exc.code is Code.KV_COMMIT_UNKNOWN:
        return idempotent
    return exc.retryable


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
    deadline = time.monotonic() + policy.max_total_s
    backoff = policy.first_backoff_s
    for attempt in range(1, policy.max_attempts + 1):
        tr = engine.begin()
        try:
            result = body(tr)
            tr.commit()
            return result
        except FlyfsError as exc:
            if not _should_retry(exc, idempotent):
                raise
            if attempt == policy.max_attempts or time.monotonic() + backoff > deadline:
                raise error(
                    Code.KV_RETRIES_EXHAUSTED,
                    f"gave up after {attempt} attempts; last error: {exc}",
                ) from exc
        finally:
            tr.cancel()
        sleep(random.uniform(0, backoff))
        backoff = min(backoff * 2, policy.max_backoff_s)
    raise AssertionError("unreachable: the loop returns or raises")
