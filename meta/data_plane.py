"""`ChainStorage` over the data plane: meta's requests to storage chains.

Removes and cuts enter at the chain's head, which applies them and forwards
them down the chain, so one answered request means every replica did it.
Length queries go to the tail, which holds only committed chunks, and are
batched: one request per storage node for all the chains it is tail of.

Every request names the chain version from meta's routing.  A retryable
failure (stale routing, a chain version mismatch, a target no longer
serving, a lost connection) asks the routing watcher for a newer version
and tries again, a bounded number of times with growing waits; anything
else is raised.  Removes are idempotent (a missing chunk is fine); a
retried cut reuses its request tag with `attempt` raised, so storage
recognises it.  All of it runs on the event loop that owns the connection
pool, never inside a transaction body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from flyfs.errors import Code, FlyfsError, error
from flyfs.net.handshake import status_error
from flyfs.proto import common_pb2, data_pb2
from flyfs.request_tags import RequestTagger
from flyfs.routing import Routing, RoutingWatcher
from flyfs.storage_client import Address, StorageClient

log = logging.getLogger(__name__)

T = TypeVar("T")


def tail(routing: Routing, chain_id: int) -> int:
    """Where committed-only questions go: the last SERVING target of the chain."""
    serving = routing.serving(chain_id)
    if not serving:
        raise error(Code.CHAIN_UNAVAILABLE, f"chain {chain_id} has no serving target")
    return serving[-1]


class DataPlaneChains:
    def __init__(
        self,
        client: StorageClient,
        routing: RoutingWatcher,
        *,
        tagger: RequestTagger | None = None,
        attempts: int = 6,
        first_wait_s: float = 0.1,
    ):
        self.client, self.routing = client, routing
        self.tagger = tagger or RequestTagger()
        self.attempts, self.first_wait_s = attempts, first_wait_s

    async def retrying(
        self,
        what: str,
        call: Callable[[Routing, common_pb2.RequestTag], Awaitable[T]],
    ) -> T:
        """`call(routing, tag)` until it succeeds, refreshing routing after retryable failures."""
        tag, wait = self.tagger.tag(), self.first_wait_s
        while True:
            routing = self.routing.current
            try:
                return await call(routing, tag)
            except FlyfsError as exc:
                if not exc.retryable or tag.attempt + 1 >= self.attempts:
                    raise
                log.info("%s: %s; retrying after routing v%d", what, exc, routing.version)
            await self.newer_routing(routing.version, wait)
            tag, wait = RequestTagger.retry_of(tag), wait * 2

    async def newer_routing(self, seen: int, wait_s: float) -> None:
        """Wait up to `wait_s` for routing newer than `seen` (none coming is fine: a backoff)."""
        try:
            await asyncio.wait_for(self.routing.refresh(seen + 1), wait_s)
        except (TimeoutError, FlyfsError) as exc:
            log.debug("no routing newer than v%d yet: %s", seen, exc)

    async def remove_range(self, chain_id: int, begin: bytes, end: bytes) -> None:
        async def once(routing: Routing, tag: common_pb2.RequestTag) -> bool:
            header = data_pb2.RequestHeader()
            remove = header.remove
            remove.chain.CopyFrom(routing.versioned(chain_id))
            remove.range_begin, remove.range_end = begin, end
            remove.tag.CopyFrom(tag)
            return (
                await self.client.call(routing.data_address(routing.head(chain_id)), header)
            ).remove.more

        while await self.retrying(f"remove on chain {chain_id}", once):
            pass  # the head removes at most its limit per request; send again while `more`

    async def cut(self, chain_id: int, cid: bytes, length: int, chunk_size: int) -> None:
        async def once(routing: Routing, tag: common_pb2.RequestTag) -> None:
            header = data_pb2.RequestHeader()
            cut = header.truncate
            cut.chunk_id, cut.length, cut.chunk_size = cid, length, chunk_size
            cut.chain.CopyFrom(routing.versioned(chain_id))
            cut.tag.CopyFrom(tag)
            await self.client.call(routing.data_address(routing.head(chain_id)), header)

        await self.retrying(f"truncate of chunk {cid.hex()} on chain {chain_id}", once)

    async def last_chunks(
        self, queries: Sequence[tuple[int, int]]
    ) -> list[tuple[bytes, int] | None]:
        async def once(routing: Routing, tag: common_pb2.RequestTag) -> list:
            by_tail: dict[Address, list[int]] = {}
            for i, (chain_id, _) in enumerate(queries):
                by_tail.setdefault(routing.data_address(tail(routing, chain_id)), []).append(i)
            found: list[tuple[bytes, int] | None] = [None] * len(queries)
            await asyncio.gather(
                *(self.ask_tail(routing, a, queries, i, found) for a, i in by_tail.items())
            )
            return found

        return await self.retrying("last chunk query", once)

    async def ask_tail(
        self,
        routing: Routing,
        address: Address,
        queries: Sequence[tuple[int, int]],
        which: list[int],
        found: list[tuple[bytes, int] | None],
    ) -> None:
        """One QueryLastChunk request to one node, for the queries `which`."""
        header = data_pb2.RequestHeader()
        for i in which:
            chain_id, inode_id = queries[i]
            header.query_last_chunk.queries.add(
                chain=routing.versioned(chain_id), inode_id=inode_id
            )
        results = (await self.client.call(address, header)).query_last_chunk.results
        if len(results) != len(which):
            raise error(Code.INTERNAL, f"{len(results)} answers to {len(which)} queries")
        for i, result in zip(which, results, strict=True):
            failure = status_error(result.status)
            if failure is not None:
                raise failure
            found[i] = (result.chunk_id, result.length) if result.chunk_id else None
