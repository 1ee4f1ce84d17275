"""Routing: mgmtd's view of the cluster, and the client every process uses to get it.

Storage, meta, the client and the launcher all route through the same
objects:

- :class:`Routing` is an immutable, indexed view over one
  `mgmtd_pb2.RoutingInfo` (one routing version): chains, targets, nodes,
  chain tables, and the CRAQ questions (head, successor, predecessor).
- :class:`RoutingTables` turns "the latest routing" into a
  :class:`flyfs.layout.ChainTableSource` for file layouts.
- :class:`MgmtdClient` is the async gRPC client (`grpc.aio`, one per event
  loop); :class:`RoutingWatcher` keeps the latest routing fresh by polling
  with `known_version` and refreshes on demand after a routing error.
- :func:`fetch_routing` is a synchronous one-shot for the CLI and launcher
  (sync gRPC: safe in processes that fork, see DESIGN.md "Two planes").

Retries: there is no shared gRPC retry helper, so calls here retry only
what is safe to repeat (reads, heartbeats, registrations, setting a state)
and only on UNAVAILABLE (mgmtd restarting or not yet listening): at most
:data:`ATTEMPTS` attempts, waits from :class:`flyfs.backoff.Backoff`, and
never past the call's `timeout_s` budget.  CreateChains is not
retried: a retry after a lost answer would be refused (its targets are
already placed), not applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc

from flyfs import errors
from flyfs.backoff import Backoff
from flyfs.errors import Code, error
from flyfs.layout import ChainTable
from flyfs.proto import common_pb2, mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.request_tags import RequestTagger
from flyfs.tasks import cancel_and_wait

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVING = common_pb2.TARGET_STATE_SERVING
SYNCING = common_pb2.TARGET_STATE_SYNCING
LASTSRV = common_pb2.TARGET_STATE_LASTSRV
ATTEMPTS = 6
DEFAULT_TABLE_ID = 1


def split_address(address: str) -> tuple[str, int]:
    """`"host:port"` → `(host, port)`; INVALID_ARGUMENT when it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise error(Code.INVALID_ARGUMENT, f"expected HOST:PORT, got {address!r}")
    return host, int(port)


class Routing:
    """An immutable view over one RoutingInfo; lookups are dictionary reads.

    Treat `info` as read-only: the indexes are built once, here.
    """

    def __init__(self, info: mgmtd_pb2.RoutingInfo) -> None:
        self.info = info
        self.version: int = info.routing_version
        self.cluster_id: str = info.cluster_id
        self._nodes = {n.node_id: n for n in info.nodes}
        self._targets = {t.target_id: t for t in info.targets}
        self._chains = {c.chain_id: c for c in info.chains}
        self._tables: dict[int, dict[int, mgmtd_pb2.ChainTable]] = {}
        for table in info.chain_tables:
            self._tables.setdefault(table.table_id, {})[table.table_version] = table

    def __repr__(self) -> str:
        return (
            f"Routing(version={self.version}, nodes={len(self._nodes)},"
            f" targets={len(self._targets)}, chains={len(self._chains)})"
        )

    def chain(self, chain_id: int) -> mgmtd_pb2.ChainInfo:
        try:
            return self._chains[chain_id]
        except KeyError:
            raise error(
                Code.CHAIN_UNAVAILABLE, f"chain {chain_id} is not in routing v{self.version}"
            ) from None

    def target(self, target_id: int) -> mgmtd_pb2.TargetInfo:
        try:
            return self._targets[target_id]
        except KeyError:
            raise error(
                Code.ROUTING_STALE, f"target {target_id} is not in routing v{self.version}"
            ) from None

    def node(self, node_id: int) -> mgmtd_pb2.NodeInfo:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise error(
                Code.ROUTING_STALE, f"node {node_id} is not in routing v{self.version}"
            ) from None

    def state(self, target_id: int) -> int:
        """The target's public `common_pb2.TargetState`."""
        return self.target(target_id).public_state

    def serving(self, chain_id: int) -> tuple[int, ...]:
        """The chain's SERVING targets, head to tail."""
        return tuple(t for t in self.chain(chain_id).target_ids if self.state(t) == SERVING)

    def syncing(self, chain_id: int) -> int | None:
        """The chain's SYNCING target (at most one), which takes forwards after the tail."""
        return next((t for t in self.chain(chain_id).target_ids if self.state(t) == SYNCING), None)

    def head(self, chain_id: int) -> int:
        """Where writes of the chain enter; CHAIN_UNAVAILABLE when nothing serves."""
        serving = self.serving(chain_id)
        if not serving:
            waiting = [t for t in self.chain(chain_id).target_ids if self.state(t) == LASTSRV]
            why = f": it waits for target {waiting[0]} (LASTSRV) to return" if waiting else ""
            raise error(
                Code.CHAIN_UNAVAILABLE,
                f"chain {chain_id} has no serving target in routing v{self.version}{why}",
            )
        return serving[0]

    def successor(self, chain_id: int, target_id: int) -> int | None:
        """The next SERVING target after `target_id` in the chain; None at the tail.

        `target_id` may be in any state (a SYNCING target has no successor
        that serves); ROUTING_STALE when it is not in the chain at all.
        """
        members = self._members(chain_id, target_id)
        after = members[members.index(target_id) + 1 :]
        return next((t for t in after if self.state(t) == SERVING), None)

    def predecessor(self, chain_id: int, target_id: int) -> int | None:
        """The nearest SERVING target before `target_id`; None at the head.

        For a SYNCING target this is the serving tail, the one that pushes
        its resync.
        """
        members = self._members(chain_id, target_id)
        before = members[: members.index(target_id)]
        return next((t for t in reversed(before) if self.state(t) == SERVING), None)

    def _members(self, chain_id: int, target_id: int) -> list[int]:
        members = list(self.chain(chain_id).target_ids)
        if target_id not in members:
            raise error(
                Code.ROUTING_STALE,
                f"target {target_id} is not in chain {chain_id} in routing v{self.version}",
            )
        return members

    def versioned(self, chain_id: int) -> common_pb2.VersionedChainId:
        chain = self.chain(chain_id)
        return common_pb2.VersionedChainId(chain_id=chain_id, chain_version=chain.chain_version)

    def data_address(self, target_id: int) -> tuple[str, int]:
        """`(host, port)` of the data plane of the node holding `target_id`."""
        node = self.node(self.target(target_id).node_id)
        if not node.data_address:
            raise error(Code.ROUTING_STALE, f"node {node.node_id} has no data address")
        return split_address(node.data_address)

    def targets_of_node(self, node_id: int) -> list[mgmtd_pb2.TargetInfo]:
        return [t for t in self.info.targets if t.node_id == node_id]

    def meta_addresses(self) -> list[str]:
        """gRPC addresses of the active meta servers, by node id."""
        return [
            n.grpc_address
            for n in sorted(self.info.nodes, key=lambda n: n.node_id)
            if n.type == common_pb2.NODE_TYPE_META
            and n.status == mgmtd_pb2.NODE_STATUS_ACTIVE
            and n.grpc_address
        ]

    def chain_table(self, table_id: int, version: int = 0) -> ChainTable:
        """A chain table version (0: the newest of that table)."""
        versions = self._tables.get(table_id, {})
        if not versions or (version and version not in versions):
            raise error(
                Code.CHAIN_UNAVAILABLE,
                f"chain table {table_id} v{version or 'latest'} is not in routing v{self.version}",
            )
        table = versions[version or max(versions)]
        return ChainTable(table.table_id, table.table_version, tuple(table.chain_ids))


class RoutingTables:
    """A ChainTableSource over whatever routing is newest when asked.

    `current()` is the newest version of table 1, where new files go.
    """

    def __init__(self, routing: Callable[[], Routing]) -> None:
        self._routing = routing

    def current(self) -> ChainTable:
        return self._routing().chain_table(DEFAULT_TABLE_ID)

    def get(self, table_id: int, version: int) -> ChainTable:
        return self._routing().chain_table(table_id, version)


async def _retry_async(call: Callable[[float], Awaitable[T]], timeout_s: float) -> T:
    """`call(remaining_s)`, again on UNAVAILABLE, within the attempt and time budget."""
    backoff = Backoff(timeout_s, attempts=ATTEMPTS)
    while True:  # bounded by the backoff's attempts and deadline
        try:
            return await call(backoff.remaining())
        except grpc.RpcError as exc:
            delay = backoff.next_delay()
            if exc.code() != grpc.StatusCode.UNAVAILABLE or delay is None:
                raise errors.from_grpc(exc) from exc
        await asyncio.sleep(delay)


class MgmtdClient:
    """Async client of one mgmtd.  One per event loop (a grpc.aio channel is bound to it).

    `cluster_id` is sent with every request; "" leaves it unchecked (a
    process that knows only mgmtd's address learns the id from routing).
    """

    def __init__(self, address: str, cluster_id: str = "", timeout_s: float = 10.0) -> None:
        split_address(address)
        self.address = address
        self.cluster_id = cluster_id
        self.timeout_s = timeout_s
        self._tagger = RequestTagger()
        self._channel: grpc.aio.Channel | None = None
        self._stub: mgmtd_pb2_grpc.MgmtdStub | None = None

    @property
    def stub(self) -> mgmtd_pb2_grpc.MgmtdStub:
        """Opened on first use, inside the event loop that will use it."""
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.address)
            self._stub = mgmtd_pb2_grpc.MgmtdStub(self._channel)
        return self._stub

    async def _unary(self, method: str, request, *, retry: bool = True):
        rpc = getattr(self.stub, method)
        if not retry:
            try:
                return await rpc(request, timeout=self.timeout_s)
            except grpc.RpcError as exc:
                raise errors.from_grpc(exc) from exc
        return await _retry_async(lambda left: rpc(request, timeout=left), self.timeout_s)

    async def register(
        self, request: mgmtd_pb2.RegisterNodeRequest
    ) -> mgmtd_pb2.RegisterNodeResponse:
        """Register (again); a retry only yields one more incarnation, the last one wins."""
        request.cluster_id = request.cluster_id or self.cluster_id
        return await self._unary("RegisterNode", request)

    async def heartbeat(self, request: mgmtd_pb2.HeartbeatRequest) -> mgmtd_pb2.HeartbeatResponse:
        request.cluster_id = request.cluster_id or self.cluster_id
        return await self._unary("Heartbeat", request)

    async def routing(self, known_version: int = 0) -> Routing | None:
        """The current routing, or None when it is still `known_version`."""
        request = mgmtd_pb2.GetRoutingInfoRequest(
            cluster_id=self.cluster_id, known_version=known_version
        )
        response = await self._unary("GetRoutingInfo", request)
        return None if response.unchanged else Routing(response.routing)

    async def create_chains(
        self,
        replicas: int = 3,
        *,
        table_id: int = DEFAULT_TABLE_ID,
        target_ids: Sequence[int] = (),
        chain_count: int = 0,
        dry_run: bool = False,
    ) -> mgmtd_pb2.CreateChainsResponse:
        request = mgmtd_pb2.CreateChainsRequest(
            tag=self._tagger.tag(),
            replicas=replicas,
            table_id=table_id,
            target_ids=target_ids,
            chain_count=chain_count,
            dry_run=dry_run,
        )
        return await self._unary("CreateChains", request, retry=dry_run)

    async def set_target_state(
        self, target_id: int, state: int, reason: str = ""
    ) -> mgmtd_pb2.SetTargetStateResponse:
        """Force a target's public state (forcing the same state twice changes nothing)."""
        request = mgmtd_pb2.SetTargetStateRequest(
            tag=self._tagger.tag(), target_id=target_id, state=state, reason=reason
        )
        return await self._unary("SetTargetState", request)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None


class RoutingWatcher:
    """Keeps the newest Routing: polls every `interval_s`, refreshes on demand.

    `current` may be read from any thread or event loop (storage serves from
    several): it is one reference, replaced only by a newer version under a
    lock.  `refresh` may be awaited from any event loop too; the gRPC calls
    always run on the loop that called `start` (the client's loop).
    `on_change(routing)` runs on that loop after each newer version.
    """

    def __init__(
        self,
        client: MgmtdClient,
        interval_s: float = 1.0,
        on_change: Callable[[Routing], None] | None = None,
    ) -> None:
        self.client = client
        self.interval_s = interval_s
        self._on_change = on_change
        self._lock = threading.Lock()
        self._routing: Routing | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> Routing:
        routing = self._routing
        if routing is None:
            raise error(Code.ROUTING_STALE, "no routing yet: RoutingWatcher.start was not awaited")
        return routing

    async def start(self) -> Routing:
        """Fetch the first routing (retrying as the client does) and start polling."""
        self._loop = asyncio.get_running_loop()
        routing = await self._fetch(0)
        self._task = asyncio.create_task(self._poll(), name="flyfs-routing-poll")
        return routing

    async def refresh(self, min_version: int = 0) -> Routing:
        """The routing once it is at least `min_version` (0: whatever is newest now).

        ROUTING_STALE if mgmtd has not reached `min_version` within the
        client's timeout.
        """
        if self._loop is None:
            raise error(Code.ROUTING_STALE, "RoutingWatcher.start was not awaited")
        if asyncio.get_running_loop() is self._loop:
            return await self._refresh(min_version)
        future = asyncio.run_coroutine_threadsafe(self._refresh(min_version), self._loop)
        return await asyncio.wrap_future(future)

    async def _refresh(self, min_version: int) -> Routing:
        backoff = Backoff(self.client.timeout_s)
        while True:  # bounded by the backoff's deadline
            routing = await self._fetch(self._routing.version if self._routing else 0)
            if routing.version >= min_version:
                return routing
            delay = backoff.next_delay()
            if delay is None:
                raise error(
                    Code.ROUTING_STALE,
                    f"mgmtd is at routing v{routing.version}, not v{min_version} yet",
                )
            await asyncio.sleep(delay)

    async def _fetch(self, known_version: int) -> Routing:
        fresh = await self.client.routing(known_version)
        with self._lock:
            newer = fresh is not None and (
                self._routing is None or fresh.version > self._routing.version
            )
            if newer:
                self._routing = fresh
            current = self._routing
        if newer and self._on_change is not None:
            self._on_change(current)
        return current

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._fetch(self._routing.version)
            except OSError as exc:  # every FlyfsError is one: mgmtd away, keep the last routing
                log.warning("routing poll failed (keeping v%d): %s", self._routing.version, exc)

    async def close(self) -> None:
        """Stop polling; the client is the caller's to close."""
        await cancel_and_wait(self._task)
        self._task = None


def fetch_routing(address: str, timeout_s: float = 10.0) -> Routing:
    """The current routing from mgmtd at `address`, synchronously (CLI, launcher)."""
    split_address(address)
    backoff = Backoff(timeout_s, attempts=ATTEMPTS)
    with grpc.insecure_channel(address) as channel:
        stub = mgmtd_pb2_grpc.MgmtdStub(channel)
        request = mgmtd_pb2.GetRoutingInfoRequest()
        while True:  # bounded by the backoff's attempts and deadline
            try:
                response = stub.GetRoutingInfo(request, timeout=backoff.remaining())
                return Routing(response.routing)
            except grpc.RpcError as exc:
                delay = backoff.next_delay()
                if exc.code() != grpc.StatusCode.UNAVAILABLE or delay is None:
                    raise errors.from_grpc(exc) from exc
            time.sleep(delay)
