"""A file's length when a writer reports how far it wrote.

Rule (DESIGN.md): the length is the largest hint reported, unless a
truncate ran since the session opened (the inode's `truncate_count` moved);
then the hint may predate the cut and the length is measured on storage
(the last chunk of each chain).  Measuring is network I/O, and network I/O
never runs inside a transaction body (a body may run twice), so a body that
needs a measurement raises `NeedsLength`; its caller measures outside the
transaction and runs the body again with the result.  A measurement counts
only while the inode's `truncate_count` is still the one it was taken under:
that is the version check that makes measure-then-commit safe.

Without storage (a standalone meta server) nothing can be measured and the
hint is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from flyfs.proto import meta_pb2


@dataclass(frozen=True)
class Measured:
    """A length read from storage, and the inode's truncate_count when it was read."""

    length: int
    truncate_count: int


class NeedsLength(Exception):
    """Raised in a transaction body: measure `inode` on storage, then run the body again."""

    def __init__(self, inode: meta_pb2.Inode):
        super().__init__(f"inode {inode.id} needs its length measured on storage")
        self.inode = inode


def settle_length(
    inode: meta_pb2.Inode,
    session_truncate_count: int,
    hint: int | None,
    measured: Measured | None,
    *,
    can_measure: bool,
) -> None:
    """Set `inode.size` from a session's hint and, when needed or given, storage."""
    current = measured if measured and measured.truncate_count == inode.truncate_count else None
    if inode.truncate_count != session_truncate_count:
        if current is not None:
            inode.size = current.length
            return
        if can_measure:
            raise NeedsLength(inode)
    if hint is not None and hint > inode.size:
        inode.size = hint
    if current is not None and current.length > inode.size:
        inode.size = current.length
