"""Descriptors of recently read committed chunk files, kept open so a read dups one.

Why: random 64 KiB reads cost a node five system calls a range (open, the
two edge preads, sendfile, close), and open's path walk was an eighth of a
node's time serving them (py-spy).  With the file kept open, a read `dup`s
the descriptor instead.  Three A/B pairs on the 2-core VM, batches of 100
ranges: 19,700-20,300 -> 20,200-21,200 ranges/s over four connections,
22,000-25,500 -> 25,100-27,200 over one.

An entry holds the committed version (the engine's `ChunkVersion` object)
it was opened for, and a read passes the one it is about to serve: an
entry is used only if it is that very object, so neither a newer version
nor a repaired copy installed under the same version number is ever read
through an old descriptor.  The engine also forgets a chunk whenever its
committed version object changes or it is removed (so the old file's
space is freed at once), and the least recently read chunk is closed past
`limit`.
"""

from __future__ import annotations

import collections
import os
import threading


class ReadFds:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._fds: collections.OrderedDict[bytes, tuple[object, int]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._fds)

    def open(self, chunk_id: bytes, committed: object, path: str) -> int:
        """A new descriptor of `path`, the file of version `committed`; the caller closes it.

        The caller holds the chunk's lock, so the file is that version's.
        """
        with self._lock:
            kept = self._fds.get(chunk_id)
            if kept is not None and kept[0] is committed:
                self._fds.move_to_end(chunk_id)
                return os.dup(kept[1])  # under the lock: `forget` cannot close it first
        fd = os.open(path, os.O_RDONLY)
        try:
            keep = os.dup(fd)
        except OSError:
            os.close(fd)
            raise
        with self._lock:
            closing = [self._fds.pop(chunk_id, None)]
            self._fds[chunk_id] = (committed, keep)
            while len(self._fds) > self.limit:  # bounded: shrinks to the limit
                closing.append(self._fds.popitem(last=False)[1])
        _close(closing)
        return fd

    def forget(self, chunk_id: bytes) -> None:
        with self._lock:
            kept = self._fds.pop(chunk_id, None)
        _close([kept])

    def close(self) -> None:
        with self._lock:
            kept, self._fds = list(self._fds.values()), collections.OrderedDict()
        _close(kept)


def _close(entries: list[tuple[object, int] | None]) -> None:
    for entry in entries:
        if entry is not None:
            os.close(entry[1])
