"""The one backoff every retry loop waits by: jittered, doubling, bounded."""

from __future__ import annotations

import pytest

from flyfs import backoff as backoff_module
from flyfs.backoff import Backoff


@pytest.fixture
def top_of_range(monkeypatch):
    """Each wait at the top of its jitter range, so the ceiling shows."""
    monkeypatch.setattr(backoff_module.random, "uniform", lambda low, high: high)


def test_the_ceiling_doubles_up_to_its_cap(top_of_range):
    backoff = Backoff(60.0, first_s=0.01, max_s=0.05)
    assert [backoff.next_delay() for _ in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]


def test_waits_are_jittered_below_the_ceiling():
    backoff = Backoff(60.0, first_s=0.01, max_s=0.08)
    waits = [backoff.next_delay() for _ in range(200)]
    assert all(0 <= w <= 0.08 for w in waits)
    assert len(set(waits)) > 100  # drawn, not fixed


def test_attempts_bound_the_loop():
    backoff = Backoff(60.0, first_s=0.0001, attempts=3)
    assert backoff.next_delay() is not None  # after attempt 1
    assert backoff.next_delay() is not None  # after attempt 2
    assert backoff.next_delay() is None  # attempt 3 was the last
    assert backoff.failures == 3


def test_no_wait_ends_past_the_deadline(top_of_range):
    assert Backoff(0.0).next_delay() is None
    backoff = Backoff(0.5, first_s=0.3, max_s=0.6)
    assert backoff.next_delay() == 0.3
    assert backoff.next_delay() is None  # 0.6 more would reach past 0.5 s
    assert not backoff.expired() and 0.001 <= backoff.remaining() <= 0.5


def test_last_try_at_deadline_cuts_the_wait_to_end_there(top_of_range):
    backoff = Backoff(0.5, first_s=0.3, max_s=0.6, last_try_at_deadline=True)
    assert backoff.next_delay() == 0.3
    cut = backoff.next_delay()  # 0.6 would cross the deadline: cut to end at it
    assert cut is not None and 0 < cut <= 0.5
    assert Backoff(0.0, last_try_at_deadline=True).next_delay() is None  # past it: give up
