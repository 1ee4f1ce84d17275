"""`flyfs df`: every storage target's state and space, the chains, and totals.

The cluster is resolved as for every client (DESIGN.md): `--cluster`, then
`FLYFS_CLUSTER`, then `$FLYFS_HOME/cluster.json`.  Exit code 3 when mgmtd
cannot be reached.  The row builders and :func:`print_table` are shared with
`flyfs cluster status`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from flyfs.cli.columns import human_bytes, print_table
from flyfs.cli.remote import add_cluster_argument

if TYPE_CHECKING:
    from flyfs.proto import mgmtd_pb2
    from flyfs.routing import Routing

TARGET_HEADERS = (
    "NODE", "TARGET", "CHAIN", "STATE", "USED", "CAPACITY", "USE%", "CHUNKS", "REPAIRED"
)  # fmt: skip
CHAIN_HEADERS = ("CHAIN", "VERSION", "STATE", "TARGETS", "RESYNC")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_argument(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")


def run(args: argparse.Namespace) -> int:
    from flyfs.cluster_file import resolve_cluster
    from flyfs.routing import fetch_routing

    routing = fetch_routing(resolve_cluster(args.cluster), timeout_s=args.timeout)
    print_table(TARGET_HEADERS, target_rows(routing))
    print()
    print_table(CHAIN_HEADERS, chain_rows(routing))
    print()
    print(totals_line(routing))
    return 0


def target_rows(routing: Routing) -> list[tuple[str, ...]]:
    return [
        (
            str(t.node_id),
            str(t.target_id),
            str(t.chain_id or "-"),
            state_name(t.public_state),
            human_bytes(t.used_bytes),
            human_bytes(t.capacity_bytes),
            percent(t.used_bytes, t.capacity_bytes),
            str(t.chunk_count),
            str(t.repaired_chunks),
        )
        for t in sorted(routing.info.targets, key=lambda t: (t.node_id, t.target_id))
    ]


def chain_rows(routing: Routing) -> list[tuple[str, ...]]:
    rows = []
    pushing = {t.sync.to_target_id: t for t in routing.info.targets if t.sync.to_target_id}
    for chain in sorted(routing.info.chains, key=lambda c: c.chain_id):
        serving = len(routing.serving(chain.chain_id))
        state = "SERVING" if serving == len(chain.target_ids) else "DEGRADED" if serving else "DOWN"
        members = ", ".join(f"{t} {state_name(routing.state(t))}" for t in chain.target_ids)
        syncing = routing.syncing(chain.chain_id)
        rows.append(
            (
                str(chain.chain_id),
                str(chain.chain_version),
                state,
                members,
                resync_text(syncing, pushing.get(syncing)) if syncing else "-",
            )
        )
    return rows


def resync_text(syncing: int, source: mgmtd_pb2.TargetInfo | None) -> str:
    """`from→to chunks done/total, bytes pushed` of a chain's resync."""
    if source is None:
        return f"→{syncing} starting"
    sync = source.sync
    total = str(sync.chunks_total) if sync.chunks_total else "?"
    return (
        f"{source.target_id}→{syncing} {sync.chunks_done}/{total} chunks,"
        f" {human_bytes(sync.bytes_done)} pushed"
    )


def totals_line(routing: Routing) -> str:
    from flyfs.cluster import serving_chains

    targets = routing.info.targets
    used = sum(t.used_bytes for t in targets)
    capacity = sum(t.capacity_bytes for t in targets)
    serving, chains = serving_chains(routing)
    nodes = len({t.node_id for t in targets})
    return (
        f"{len(targets)} targets on {nodes} nodes, {serving}/{chains} chains serving;"
        f" used {human_bytes(used)} of {human_bytes(capacity)}"
        f" ({percent(used, capacity)}), {sum(t.chunk_count for t in targets)} chunks;"
        f" routing v{routing.version}"
    )


def state_name(state: int) -> str:
    from flyfs.proto import common_pb2

    try:
        return common_pb2.TargetState.Name(state).removeprefix("TARGET_STATE_")
    except ValueError:
        return str(state)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
