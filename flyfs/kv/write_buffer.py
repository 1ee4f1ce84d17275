"""A transaction's uncommitted mutations, and how its own reads see them.

FoundationDB transactions read their own writes; the embedded engine gets
the same behaviour from this buffer.  It keeps the *net* effect of the
mutations so far, which is all a commit needs:

- `points`: keys whose value is known locally (None = cleared);
- `cleared`: ranges cleared, applied before `points` at commit;
- `adds`: atomic-add params for keys whose stored value is unknown, applied
  last, in order, on the committed value (an add never reads, so it never
  conflicts).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from itertools import islice
from operator import itemgetter

from .api import KeyValue, add_le


class WriteBuffer:
    __slots__ = ("adds", "cleared", "points")

    def __init__(self) -> None:
        self.points: dict[bytes, bytes | None] = {}
        self.cleared: list[tuple[bytes, bytes]] = []
        self.adds: dict[bytes, list[bytes]] = {}

    def __bool__(self) -> bool:
        return bool(self.points or self.cleared or self.adds)

    def is_cleared(self, key: bytes) -> bool:
        return any(begin <= key < end for begin, end in self.cleared)

    def known(self, key: bytes) -> tuple[bool, bytes | None]:
        """(True, value) if this transaction alone decides the value of `key`."""
        if key in self.points:
            return True, self.points[key]
        if self.is_cleared(key):
            return True, None
        return False, None

    def set(self, key: bytes, value: bytes) -> None:
        self.points[key] = value
        self.adds.pop(key, None)

    def clear(self, key: bytes) -> None:
        self.points[key] = None
        self.adds.pop(key, None)

    def clear_range(self, begin: bytes, end: bytes) -> None:
        for key in [k for k in self.points if begin <= k < end]:
            del self.points[key]
        for key in [k for k in self.adds if begin <= k < end]:
            del self.adds[key]
        self.cleared.append((begin, end))

    def add(self, key: bytes, param: bytes) -> None:
        is_known, value = self.known(key)
        if is_known:
            self.points[key] = add_le(value, param)
        else:
            self.adds.setdefault(key, []).append(param)

    def resolve(self, key: bytes, stored: bytes | None, *, fold: bool) -> bytes | None:
        """The value of `key` given its stored value: pending adds applied.

        With `fold`, the adds become a plain local value from now on.
        """
        params = self.adds.pop(key, None) if fold else self.adds.get(key)
        if params is None:
            return stored
        for param in params:
            stored = add_le(stored, param)
        if fold:
            self.points[key] = stored
        return stored

    def pending_adds_in(self, begin: bytes, end: bytes) -> list[bytes]:
        return [k for k in self.adds if begin <= k < end]

    def overlay(
        self,
        begin: bytes,
        end: bytes,
        stored: Iterable[KeyValue],
        *,
        added: dict[bytes, bytes | None],
        limit: int,
        reverse: bool,
    ) -> list[KeyValue]:
        """Merge a lazy scan of stored `[begin, end)` with this buffer, in scan order.

        `added` holds the resolved values of keys with pending adds.  `stored`
        is consumed only as far as `limit` needs, so a page read of a huge
        directory stays a page read after a local write into it.
        """
        local_values = {k: v for k, v in self.points.items() if begin <= k < end}
        local_values.update(added)
        visible = (kv for kv in stored if kv[0] not in local_values and not self.is_cleared(kv[0]))
        local = sorted(((k, v) for k, v in local_values.items() if v is not None), reverse=reverse)
        merged = heapq.merge(visible, local, key=itemgetter(0), reverse=reverse)
        return list(islice(merged, limit or None))

    def touches(self, begin: bytes, end: bytes) -> bool:
        """Whether any buffered mutation could change what `[begin, end)` reads."""
        return (
            any(begin <= k < end for k in self.points)
            or any(b < end and begin < e for b, e in self.cleared)
            or any(begin <= k < end for k in self.adds)
        )

    def conflict_ranges(self) -> list[tuple[bytes, bytes]]:
        """Write-conflict ranges other transactions must check against."""
        ranges = list(self.cleared)
        ranges.extend((k, k + b"\x00") for k in self.points)
        ranges.extend((k, k + b"\x00") for k in self.adds)
        return ranges
