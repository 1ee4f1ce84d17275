"""CreateChains: place registered targets into chains and publish a table version.

Semantic choices:
- Only targets in no chain are placed (all of them, or the ones the request
  names), so a retried or repeated call never puts a target in two chains:
  with nothing left to place it is INVALID_ARGUMENT.
- The new table version is the previous version's chains plus the new
  ones: growing a table never moves an existing file's chunks (files pin
  their table version), and new files spread over the new chains too.
- A table keeps its replica count; new chains start at version 1 with
  every target SERVING (they hold no data yet, nothing to resync).
- `dry_run` computes the same answer on a copy and stores nothing.
"""

from __future__ import annotations

from flyfs.chains import SERVING, build_chains
from flyfs.errors import Code, error
from flyfs.proto import mgmtd_pb2

from .model import ClusterModel

DEFAULT_REPLICAS = 3
DEFAULT_TABLE_ID = 1


def _candidates(model: ClusterModel, wanted: list[int]) -> list[tuple[int, int]]:
    """(target id, node id) of the targets to place."""
    if not wanted:
        return [(t.target_id, t.node_id) for t in model.targets.values() if not t.chain_id]
    out = []
    for target_id in wanted:
        target = model.targets.get(target_id)
        if target is None:
            raise error(Code.INVALID_ARGUMENT, f"target {target_id} is not registered")
        if target.chain_id:
            raise error(
                Code.INVALID_ARGUMENT, f"target {target_id} is already in chain {target.chain_id}"
            )
        out.append((target_id, target.node_id))
    return out


def run(
    model: ClusterModel, request: mgmtd_pb2.CreateChainsRequest
) -> mgmtd_pb2.CreateChainsResponse:
    """Add the chains to `model` (a draft: pass a copy for a dry run)."""
    replicas = request.replicas or DEFAULT_REPLICAS
    table_id = request.table_id or DEFAULT_TABLE_ID
    previous = model.latest_table(table_id)
    if previous is not None and previous.replicas != replicas:
        raise error(
            Code.INVALID_ARGUMENT,
            f"chain table {table_id} has chains of {previous.replicas} replicas, not {replicas}",
        )
    placed = build_chains(
        _candidates(model, list(request.target_ids)),
        replicas=replicas,
        chain_count=request.chain_count,
        first_chain_id=max(model.chains, default=0) + 1,
    )
    chains = []
    for chain_id, members in placed:
        chain = mgmtd_pb2.ChainInfo(chain_id=chain_id, chain_version=1, target_ids=members)
        model.chains[chain_id] = chain
        chains.append(chain)
        for target_id in members:
            model.targets[target_id].chain_id = chain_id
            model.targets[target_id].public_state = SERVING
    version = previous.table_version + 1 if previous is not None else 1
    table = mgmtd_pb2.ChainTable(
        table_id=table_id,
        table_version=version,
        replicas=replicas,
        chain_ids=[*(previous.chain_ids if previous is not None else ()), *(c for c, _ in placed)],
    )
    model.tables[(table_id, version)] = table
    return mgmtd_pb2.CreateChainsResponse(table=table, chains=chains)
