"""The transaction interface every engine implements, in FoundationDB's model.

Ordered byte keys; `get_range` is half-open `[begin, end)`; reads are
serializable (they conflict with later commits) unless made through the
`snapshot_*` methods; mutations are buffered and visible to the
transaction's own reads; nothing is visible to others until commit.  `add`
is FDB's little-endian atomic add and returns nothing: an atomic add reads
nothing, so it never conflicts.
"""

from __future__ import annotations

import asyncio
import struct
from abc import ABC, abstractmethod

KeyValue = tuple[bytes, bytes]


class ReadTransaction(ABC):
    """What a read-only transaction body may do."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None: ...

    @abstractmethod
    def get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        """Pairs in `[begin, end)`, at most `limit` (0 = all), last first if `reverse`."""

    @abstractmethod
    def snapshot_get(self, key: bytes) -> bytes | None:
        """Like `get`, but adds no read conflict."""

    @abstractmethod
    def snapshot_get_range(
        self, begin: bytes, end: bytes, *, limit: int = 0, reverse: bool = False
    ) -> list[KeyValue]:
        """Like `get_range`, but adds no read conflict."""

    def get_prefix(self, prefix: bytes, *, limit: int = 0, reverse: bool = False) -> list[KeyValue]:
        return self.get_range(prefix, prefix_end(prefix), limit=limit, reverse=reverse)


class Transaction(ReadTransaction):
    """What a read-write transaction body may do."""

    @abstractmethod
    def set(self, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    def clear(self, key: bytes) -> None: ...

    @abstractmethod
    def clear_range(self, begin: bytes, end: bytes) -> None: ...

    @abstractmethod
    def add(self, key: bytes, param: bytes) -> None:
        """FDB's atomic add: little-endian, the width of `param`, wrapping."""


class EngineTransaction(Transaction):
    """An engine's transaction as the retry loop drives it."""

    @abstractmethod
    def commit(self) -> None: ...

    async def commit_async(self) -> None:
        """`commit` from an event loop; engines with a non-blocking commit override this."""
        await asyncio.to_thread(self.commit)

    @abstractmethod
    def cancel(self) -> None:
        """Release the transaction's resources without committing; idempotent."""


class Engine(ABC):
    name: str
    # Bodies may run on the event loop: reads are local and never wait.
    inline_bodies: bool = False

    @abstractmethod
    def begin(self) -> EngineTransaction: ...

    @abstractmethod
    def close(self) -> None: ...


def prefix_end(prefix: bytes) -> bytes:
    """The first key after every key that starts with `prefix` (FDB's strinc)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError(f"prefix {prefix!r} has no end: it is empty or all \\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1])


def key_after(key: bytes) -> bytes:
    """The first key after `key`: a point read conflicts on `[key, key_after(key))`."""
    return key + b"\x00"


def add_le(old: bytes | None, param: bytes) -> bytes:
    """FDB's ADD mutation on one value: the result has the width of `param`."""
    width = len(param)
    base = int.from_bytes((old or b"")[:width], "little")
    total = (base + int.from_bytes(param, "little")) % (1 << (8 * width)) if width else 0
    return total.to_bytes(width, "little")


_I64 = struct.Struct("<q")


def counter(delta: int) -> bytes:
    """The `add` param for a signed 64-bit counter step."""
    return _I64.pack(delta)


def read_counter(value: bytes | None) -> int:
    """The value of a counter kept with `add(key, counter(n))`."""
    return _I64.unpack(value.ljust(8, b"\x00")[:8])[0] if value else 0
