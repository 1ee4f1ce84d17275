"""The cluster as mgmtd persists it: plain protobuf records, copied per change.

Everything here is routing content: a change to any of it is a new routing
version.  Live figures that change on every heartbeat (space, resync
progress, last heartbeat time) are kept apart, in `flyfs.mgmtd.state`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flyfs.proto import mgmtd_pb2


@dataclass
class ClusterModel:
    cluster_id: str
    routing_version: int = 0
    # High-water marks, so ids and incarnations are never handed out twice.
    last_incarnation: int = 0
    last_node_id: int = 0
    last_target_id: int = 0
    nodes: dict[int, mgmtd_pb2.NodeInfo] = field(default_factory=dict)
    targets: dict[int, mgmtd_pb2.TargetInfo] = field(default_factory=dict)
    chains: dict[int, mgmtd_pb2.ChainInfo] = field(default_factory=dict)
    tables: dict[tuple[int, int], mgmtd_pb2.ChainTable] = field(default_factory=dict)

    def copy(self) -> ClusterModel:
        """A draft to change; the original stays as it was until the draft commits."""
        return copy.deepcopy(self)

    def routing(self) -> mgmtd_pb2.RoutingInfo:
        """Everything as one RoutingInfo, each list ordered by id."""
        return mgmtd_pb2.RoutingInfo(
            routing_version=self.routing_version,
            cluster_id=self.cluster_id,
            nodes=[self.nodes[k] for k in sorted(self.nodes)],
            targets=[self.targets[k] for k in sorted(self.targets)],
            chains=[self.chains[k] for k in sorted(self.chains)],
            chain_tables=[self.tables[k] for k in sorted(self.tables)],
        )

    def content(self) -> bytes:
        """The routing content without its version: equal bytes, same routing."""
        info = self.routing()
        info.routing_version = 0
        return info.SerializeToString(deterministic=True)

    def next_node_id(self) -> int:
        return _next_auto_id(self.last_node_id, self.nodes)

    def next_target_id(self) -> int:
        return _next_auto_id(self.last_target_id, self.targets)

    def members(self, chain_id: int) -> list[tuple[int, int]]:
        """The chain's (target id, public state) pairs, in chain order."""
        return [(t, self.targets[t].public_state) for t in self.chains[chain_id].target_ids]

    def set_members(self, chain_id: int, members: Sequence[tuple[int, int]]) -> None:
        """Store a chain's new order and states, one chain version later."""
        chain = self.chains[chain_id]
        chain.chain_version += 1
        del chain.target_ids[:]
        chain.target_ids.extend(t for t, _ in members)
        for target_id, state in members:
            self.targets[target_id].public_state = state

    def latest_table(self, table_id: int) -> mgmtd_pb2.ChainTable | None:
        versions = [v for (t, v) in self.tables if t == table_id]
        return self.tables[(table_id, max(versions))] if versions else None


# Ids mgmtd assigns (a request with id 0) come from above this, ids that nodes
# ask for (launchers assign them) from below: a node that registers first can
# never take an id another node is configured with.
AUTO_ID_BASE = 1 << 20


def _next_auto_id(last: int, taken: Iterable[int]) -> int:
    auto = [i for i in (last, *taken) if i >= AUTO_ID_BASE]
    return max(auto, default=AUTO_ID_BASE - 1) + 1
