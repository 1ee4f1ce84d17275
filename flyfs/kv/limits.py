"""FoundationDB's limits, enforced the same way by every engine.

Code written against the embedded engine must not break when it moves to
FoundationDB, so the embedded engine refuses what FDB would refuse, with the
same meaning: keys up to 10 kB, values up to 100 kB, a transaction's
mutations and conflict ranges up to 10 MB, and a transaction at most 5 s old
(older ones get the retryable too-old error, FDB's 1007).
"""

from __future__ import annotations

from flyfs.errors import Code, error

MAX_KEY_BYTES = 10_000
MAX_VALUE_BYTES = 100_000
MAX_TXN_BYTES = 10_000_000
MAX_TXN_SECONDS = 5.0
# Keys at or above \xff are FoundationDB's system keyspace.
KEYSPACE_END = b"\xff"


def check_key(key: object, what: str = "key") -> bytes:
    if not isinstance(key, bytes):
        raise TypeError(f"kv {what} must be bytes, not {type(key).__name__}: {key!r:.60}")
    if len(key) > MAX_KEY_BYTES:
        raise error(Code.KV_KEY_TOO_LARGE, f"{what} of {len(key)} bytes exceeds {MAX_KEY_BYTES}")
    if key >= KEYSPACE_END:
        raise error(Code.INVALID_ARGUMENT, f"{what} {key[:16]!r} is in the reserved \\xff keyspace")
    return key


def check_range_end(end: object) -> bytes:
    """Range ends may be exactly the keyspace end (\\xff), unlike keys."""
    if isinstance(end, bytes) and end == KEYSPACE_END:
        return end
    return check_key(end, "range end")


def check_value(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"kv value must be bytes, not {type(value).__name__}")
    if len(value) > MAX_VALUE_BYTES:
        raise error(
            Code.KV_VALUE_TOO_LARGE, f"value of {len(value)} bytes exceeds {MAX_VALUE_BYTES}"
        )
    return value


class SizeMeter:
    """Counts a transaction's bytes as FDB does: mutations plus conflict ranges."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0

    def charge(self, nbytes: int) -> None:
        self.total += nbytes
        if self.total > MAX_TXN_BYTES:
            raise error(
                Code.KV_TXN_TOO_LARGE,
                f"transaction reached {self.total} bytes of mutations and conflict ranges;"
                f" the limit is {MAX_TXN_BYTES}",
            )
