"""One chunk's share of a read, and what each replica's answer means for it.

`ChunkIO` (`client.chunk_io`) moves pieces in rounds of batch requests;
a piece decides which replica to ask each round and, when a replica says
it has no such chunk, whether the chunk is a hole or another replica must
be asked.  Kept apart because this is the part where a wrong answer turns
a file's bytes into zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flyfs.errors import Code, FlyfsError, error
from flyfs.routing import Routing

# A node that did not answer at all (down, restarting, too slow).
NODE_ERRORS = frozenset({Code.UNAVAILABLE, Code.CONNECTION_LOST, Code.TIMEOUT})


@dataclass
class Piece:
    """Where a chunk's bytes are, where they go, and what was learnt asking for them."""

    chain_id: int
    chunk: bytes
    offset: int  # within the chunk
    dest: memoryview
    index: int  # the chunk's index in its file: spreads replicas
    tries: int = 0
    tail_only: bool = False  # NOT_COMMITTED seen: the tail holds only committed data
    done: int = -1  # bytes placed (the rest of `dest` zero-filled); -1 while pending
    hole: bool = False  # no such chunk on storage: zeros, if its inode still exists
    target: int = 0  # the replica asked this round
    absent_on: set[int] = field(default_factory=set)  # replicas that have no such chunk
    ask_another: bool = False  # this round's answer: try a replica not in absent_on now

    def choose_replica(self, routing: Routing, turn: int) -> int:
        """The serving replica to ask this round: the chunk's index plus a rotating
        turn spread a file's chunks, and repeated reads of one, over every replica."""
        serving = routing.serving(self.chain_id)
        if not serving:
            raise error(Code.CHAIN_UNAVAILABLE, f"chain {self.chain_id} has no serving replica")
        if self.tail_only:
            return serving[-1]
        left = [t for t in serving if t not in self.absent_on] or serving  # all: a hole
        return left[(self.index + turn + self.tries) % len(left)]

    def is_hole(self, routing: Routing, exc: FlyfsError) -> bool:
        """Whether `self.target` answering `exc` leaves no serving replica that could
        have the chunk; if one is left to ask, sets `self.ask_another` instead.

        A chunk is a hole only if no serving replica has it: one that lacks a
        chunk its chain committed (a bug, a disk replaced by hand) must not
        turn a file's bytes into zeros.  Once one replica said CHUNK_NOT_FOUND,
        one that cannot be reached counts as lacking it too, so a hole does
        not wait for a dead node to leave routing.  The tail's answer to a
        tail-only read is the chain's committed state: it stands alone.
        """
        if self.tail_only:
            return exc.code == Code.CHUNK_NOT_FOUND
        if exc.code != Code.CHUNK_NOT_FOUND and not (self.absent_on and exc.code in NODE_ERRORS):
            return False
        self.absent_on.add(self.target)
        serving = routing.serving(self.chain_id)
        self.ask_another = any(t not in self.absent_on for t in serving)
        return not self.ask_another

    def fill(self, placed: int, missing: bool = False) -> None:
        """Zeros past the `placed` bytes that arrived (a chunk's end, or a hole)."""
        self.hole = missing
        self.dest[placed:] = bytes(len(self.dest) - placed)
        self.done = len(self.dest)
