"""The waits between the attempts of a retry loop: every retry loop in flyfs takes them here.

Capped exponential backoff with full jitter: the ceiling doubles from
`first_s` to `max_s` and each wait is drawn below it, so clients that failed
together (a node restarted under all of them) do not come back together.
Every loop is bounded: by a deadline always, and by a count of attempts
where one is given.  A loop asks for the next wait after each failure and
gives up when there is none: when the next attempt would start past the
deadline, or, with `last_try_at_deadline`, once the deadline has passed
(the wait that would cross it is cut to end there, for loops whose whole
window must be used, such as reads and writes riding out a failover).
"""

from __future__ import annotations

import random
import time

FIRST_S = 0.05
MAX_S = 1.0


class Backoff:
    def __init__(
        self,
        window_s: float,
        *,
        first_s: float = FIRST_S,
        max_s: float = MAX_S,
        attempts: int | None = None,
        last_try_at_deadline: bool = False,
    ) -> None:
        self.deadline = time.monotonic() + window_s
        self._ceiling = first_s
        self._max_s = max_s
        self._attempts = attempts
        self._last_try_at_deadline = last_try_at_deadline
        self.failures = 0

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def remaining(self) -> float:
        """Seconds left to the deadline (at least 1 ms: a timeout for the next attempt)."""
        return max(self.deadline - time.monotonic(), 0.001)

    def next_delay(self) -> float | None:
        """The wait before the next attempt, after a failure; None when there is to be none."""
        self.failures += 1
        if self._attempts is not None and self.failures >= self._attempts:
            return None
        delay = random.uniform(0, self._ceiling)
        left = self.deadline - time.monotonic()
        if self._last_try_at_deadline and left > 0:
            delay = min(delay, left)
        elif delay >= left:
            return None
        self._ceiling = min(self._ceiling * 2, self._max_s)
        return delay
