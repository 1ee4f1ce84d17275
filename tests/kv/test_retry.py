"""The one retry loop, alone, over a scripted engine (a unit test)."""

from __future__ import annotations

import pytest

from flyfs.errors import Code, FlyfsError, error
from flyfs.kv.api import Engine, EngineTransaction
from flyfs.kv.retry import RetryPolicy, run_transaction


class ScriptedTransaction(EngineTransaction):
    def __init__(self, outcome: Code | None):
        self.outcome = outcome
        self.cancelled = False

    def commit(self) -> None:
        if self.outcome is not None:
            raise error(self.outcome, "scripted")

    def cancel(self) -> None:
        self.cancelled = True

    def get(self, key):
        return None

    get_range = snapshot_get = snapshot_get_range = set = clear = clear_range = add = None


class ScriptedEngine(Engine):
    name = "scripted"

    def __init__(self, outcomes: list[Code | None]):
        self.outcomes = list(outcomes)
        self.begun: list[ScriptedTransaction] = []

    def begin(self) -> ScriptedTransaction:
        tr = ScriptedTransaction(self.outcomes.pop(0))
        self.begun.append(tr)
        return tr

    def close(self) -> None:
        pass


FAST = RetryPolicy(max_attempts=5, first_backoff_s=0.0001, max_backoff_s=0.001)


def run(engine, **kw):
    sleeps: list[float] = []
    result = run_transaction(engine, lambda tr: "done", policy=FAST, sleep=sleeps.append, **kw)
    return result, sleeps


@pytest.mark.parametrize("code", [Code.KV_CONFLICT, Code.KV_TOO_OLD, Code.KV_BUSY])
def test_retryable_errors_are_retried_with_growing_backoff(code):
    engine = ScriptedEngine([code, code, None])
    result, sleeps = run(engine)
    assert result == "done" and len(engine.begun) == 3
    assert all(tr.cancelled for tr in engine.begun)
    assert len(sleeps) == 2 and all(0 <= s <= FAST.max_backoff_s for s in sleeps)


@pytest.mark.parametrize("code", [Code.KV_TXN_TOO_LARGE, Code.KV_CORRUPT, Code.NOT_FOUND])
def test_other_errors_are_raised_at_once(code):
    engine = ScriptedEngine([code, None])
    with pytest.raises(FlyfsError) as caught:
        run(engine)
    assert caught.value.code is code and len(engine.begun) == 1


def test_commit_unknown_is_raised_unless_the_body_is_idempotent():
    with pytest.raises(FlyfsError) as caught:
        run(ScriptedEngine([Code.KV_COMMIT_UNKNOWN, None]))
    assert caught.value.code is Code.KV_COMMIT_UNKNOWN
    engine = ScriptedEngine([Code.KV_COMMIT_UNKNOWN, None])
    assert run(engine, idempotent=True)[0] == "done" and len(engine.begun) == 2


def test_attempts_are_bounded():
    engine = ScriptedEngine([Code.KV_CONFLICT] * FAST.max_attempts)
    with pytest.raises(FlyfsError) as caught:
        run(engine)
    assert caught.value.code is Code.KV_RETRIES_EXHAUSTED
    assert caught.value.__cause__.code is Code.KV_CONFLICT
    assert len(engine.begun) == FAST.max_attempts
