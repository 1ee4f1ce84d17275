"""mgmtd's live cluster state: the persisted model plus what heartbeats say.

One `ClusterState` per mgmtd process.  Every change runs as
:meth:`ClusterState.change`: the operation edits a copy of the model, the
records that differ go to the KV in one transaction, and only after the
commit does the copy become the model.  Changes are serialized by one
asyncio lock (they are rare: registrations, chain tables, state changes),
so an operation always sees the result of the one before.

The routing version grows by one with every change of routing content
(nodes, targets, chains, tables, public target states, addresses,
incarnations), never otherwise, and it lives in the KV, so it only grows
across restarts.  What changes on every heartbeat is kept in memory only and
is *not* versioned: last heartbeat times and each target's local state,
space, repairs and resync progress.  They are overlaid on every routing
mgmtd sends, so a caller that wants fresh space (`flyfs df`) asks with
`known_version` 0; a watcher that polls with its known version is never
woken by them.

After a restart every known node counts as having just heartbeated: it gets
one lease of grace to reach the new mgmtd before it may be declared gone.

Failover (`update_chains`, run on a timer by the server) declares a node gone
only `lease + margin` after its last heartbeat *arrived*; the node fenced
itself `lease - its margin` after that heartbeat was *sent*, so by the time
its targets leave their chains it has stopped serving (DESIGN.md, "Fencing").
A node that registers again is a new process that may have missed writes:
its targets leave their chains at once (or become LASTSRV if they were the
last to serve), and come back through WAITING and SYNCING.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flyfs.chains import ONLINE, UPTODATE, TargetFacts, update_chain
from flyfs.errors import Code, error
from flyfs.kv import Database
from flyfs.proto import common_pb2, mgmtd_pb2

from . import register, schema
from .config import MgmtdConfig
from .model import ClusterModel

log = logging.getLogger("flyfs.mgmtd")

T = TypeVar("T")

# mgmtd acts on a silent node this share of the lease after the lease ran out
# (at least MIN_MOVE_MARGIN_S): room for clocks that tick at slightly different rates.
MOVE_MARGIN_SHARE = 0.1
MIN_MOVE_MARGIN_S = 0.5


@dataclass
class Live:
    """Per-heartbeat facts, in memory only."""

    beat_monotonic: dict[int, float] = field(default_factory=dict)  # node -> mgmtd's clock
    beat_unix_ms: dict[int, int] = field(default_factory=dict)
    reports: dict[int, mgmtd_pb2.TargetReport] = field(default_factory=dict)  # by target

    def beat(self, node_id: int, now: float, reports=()) -> None:
        self.beat_monotonic[node_id] = now
        self.beat_unix_ms[node_id] = int(time.time() * 1000)
        for report in reports:
            self.reports[report.target_id] = report


class ClusterState:
    def __init__(
        self,
        db: Database,
        config: MgmtdConfig,
        model: ClusterModel,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.config = config
        self.model = model
        self.clock = clock
        self.live = Live()
        self._stored = schema.records(model)
        self._lock = asyncio.Lock()
        self._newer = asyncio.Event()
        now = clock()
        for node_id in model.nodes:  # one lease of grace after a restart
            self.live.beat(node_id, now)

    @classmethod
    async def open(cls, db: Database, config: MgmtdConfig) -> ClusterState:
        """The state stored in `db`, or a new cluster (routing version 1) if there is none."""
        model = await db.read_async(schema.load)
        if model is None:
            model = ClusterModel(cluster_id=config.cluster_id, routing_version=1)
            sets = schema.records(model)
            await db.run_async(lambda tr: schema.write(tr, 0, sets, []))
        elif model.cluster_id != config.cluster_id:
            raise error(
                Code.CLUSTER_MISMATCH,
                f"the KV belongs to cluster {model.cluster_id!r}, not {config.cluster_id!r}",
            )
        return cls(db, config, model)

    @property
    def version(self) -> int:
        return self.model.routing_version

    def check_cluster(self, cluster_id: str) -> None:
        """Refuse a request that names another cluster ("" is not checked)."""
        if cluster_id and cluster_id != self.model.cluster_id:
            raise error(
                Code.CLUSTER_MISMATCH,
                f"this mgmtd serves cluster {self.model.cluster_id!r}, not {cluster_id!r}",
            )

    def routing(self) -> mgmtd_pb2.RoutingInfo:
        """The current routing with the live figures overlaid."""
        info = self.model.routing()
        for node in info.nodes:
            node.last_heartbeat_unix_ms = self.live.beat_unix_ms.get(node.node_id, 0)
        for target in info.targets:
            report = self.live.reports.get(target.target_id)
            if report is not None:
                target.capacity_bytes = report.capacity_bytes
                target.used_bytes = report.used_bytes
                target.chunk_count = report.chunk_count
                target.repaired_chunks = report.repaired_chunks
                target.local_state = report.local_state
                target.sync.CopyFrom(report.sync)
        return info

    async def change(self, op: Callable[[ClusterModel], T]) -> tuple[T, ClusterModel]:
        """Run `op` on a draft and commit it; returns op's result and the committed model.

        Shielded: a caller that goes away (a cancelled RPC) does not stop a
        commit half way, so memory and KV never disagree.  If the commit
        fails, the model is reloaded from the KV.
        """
        return await asyncio.shield(self._change(op))

    async def _change(self, op: Callable[[ClusterModel], T]) -> tuple[T, ClusterModel]:
        async with self._lock:
            draft = self.model.copy()
            result = op(draft)
            bumped = draft.content() != self.model.content()
            if bumped:
                draft.routing_version = self.model.routing_version + 1
            new = schema.records(draft)
            sets, clears = schema.diff(self._stored, new)
            if sets or clears:
                expected = self.model.routing_version
                try:
                    await self.db.run_async(lambda tr: schema.write(tr, expected, sets, clears))
                except Exception:
                    self.model = await self.db.read_async(schema.load) or self.model
                    self._stored = schema.records(self.model)
                    raise
            self.model, self._stored = draft, new
        if bumped:
            self._newer.set()
            self._newer = asyncio.Event()
        return result, draft

    async def wait_newer(self, version: int) -> None:
        """Return once the routing version is above `version`."""
        while self.model.routing_version <= version:
            await self._newer.wait()

    async def register(
        self, request: mgmtd_pb2.RegisterNodeRequest
    ) -> mgmtd_pb2.RegisterNodeResponse:
        """Register a node; registering counts as its first heartbeat.

        A storage node registering again is a restarted process: its targets
        are taken out of their chains in the same transaction.
        """

        def op(model: ClusterModel) -> mgmtd_pb2.RegisterNodeResponse:
            response = register.run(model, request)
            facts = self.facts(self.clock())
            for target_id in response.target_ids:
                facts[target_id] = TargetFacts(alive=False)
            restarted = {model.targets[t].chain_id for t in response.target_ids}
            _step_chains(model, facts, sorted(restarted - {0}))
            return response

        response, model = await self.change(op)
        self.live.beat(response.node_id, self.clock(), request.targets)
        log.info(
            "registered %s node %d (%s) incarnation %d, targets %s; routing v%d",
            common_pb2.NodeType.Name(request.type),
            response.node_id,
            request.name or "unnamed",
            response.incarnation,
            list(response.target_ids),
            model.routing_version,
        )
        response.heartbeat_interval_ms = int(self.config.heartbeat_interval_s * 1000)
        response.lease_ms = int(self.config.lease_s * 1000)
        response.routing.CopyFrom(self.routing())
        return response

    async def heartbeat(self, request: mgmtd_pb2.HeartbeatRequest) -> mgmtd_pb2.HeartbeatResponse:
        """Record a heartbeat: its reports are live figures, nothing is versioned."""
        _check_heartbeat(self.model, request)
        self.live.beat(request.node_id, self.clock(), request.targets)
        return mgmtd_pb2.HeartbeatResponse(
            sent_monotonic_ns=request.sent_monotonic_ns,
            routing_version=self.model.routing_version,
            lease_ms=int(self.config.lease_s * 1000),
        )

    @property
    def move_after_s(self) -> float:
        """How long after a node's last heartbeat arrived mgmtd may move its targets."""
        lease = self.config.lease_s
        return lease + max(lease * MOVE_MARGIN_SHARE, MIN_MOVE_MARGIN_S)

    def facts(self, now: float) -> dict[int, TargetFacts]:
        """What the chain-update rule needs per target, as of `now` (mgmtd's clock).

        The local state is the newest report's, with the chain version that
        report names (never the stored state with a newer report's version:
        the two are not written together).  UPTODATE counts only if the node
        judged it under the chain's current version: a report built from
        older routing never ends a resync.
        """
        limit = self.move_after_s
        alive = {n for n, beat in self.live.beat_monotonic.items() if now - beat <= limit}
        facts = {}
        for t in self.model.targets.values():
            report = self.live.reports.get(t.target_id)
            chain = self.model.chains.get(t.chain_id)
            local_state = report.local_state if report is not None else t.local_state
            if local_state == UPTODATE and (
                report is None or chain is None or report.chain_version != chain.chain_version
            ):
                local_state = ONLINE
            facts[t.target_id] = TargetFacts(alive=t.node_id in alive, local_state=local_state)
        return facts

    async def update_chains(self, now: float) -> list[int]:
        """One step of the chain-update rule on every chain as of `now`; the chains that changed."""

        def step(model: ClusterModel) -> list[int]:
            return _step_chains(model, self.facts(now), sorted(model.chains))

        changed, model = await self.change(step)
        if changed:
            chains = {c: model.members(c) for c in changed}
            log.info("chains changed %s; routing v%d", chains, model.routing_version)
        return changed

    async def run_failover(self, interval_s: float) -> None:
        """`update_chains` every `interval_s`, until cancelled (the server's task)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.update_chains(self.clock())
            except Exception:
                log.exception("chain update failed; will try again")


def _step_chains(
    model: ClusterModel, facts: dict[int, TargetFacts], chain_ids: list[int]
) -> list[int]:
    changed = []
    for chain_id in chain_ids:
        update = update_chain(model.members(chain_id), facts)
        if update.changed:
            model.set_members(chain_id, update.members)
            changed.append(chain_id)
    return changed


def _check_heartbeat(model: ClusterModel, request: mgmtd_pb2.HeartbeatRequest) -> None:
    """Refuse a superseded incarnation or foreign targets."""
    node = model.nodes.get(request.node_id)
    if node is None or node.incarnation != request.incarnation:
        raise error(
            Code.UNKNOWN_NODE,
            f"node {request.node_id} incarnation {request.incarnation} is not registered"
            " (register again)",
        )
    for report in request.targets:
        target = model.targets.get(report.target_id)
        if target is None or target.node_id != request.node_id:
            raise error(
                Code.INVALID_ARGUMENT,
                f"target {report.target_id} is not a target of node {request.node_id}",
            )
