"""`flyfs cluster up|status|down|kill|start`: a local cluster on 127.0.0.1 (`flyfs.cluster`).

`up` detaches the servers so they outlive the command (`--foreground` keeps
them attached until Ctrl-C or SIGTERM); `status`, `down`, `kill` and
`start` find them again through `DIR/cluster.json` by pid *and* start
time.  `kill NODE` crashes a storage node (SIGKILL; `--signal STOP`
freezes it, `CONT` thaws it), `start NODE` brings it back on its data.
Exit codes of `status`: 0 every process runs and every chain serves, 1
otherwise, 3 mgmtd unreachable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flyfs.arguments import positive_float, positive_int
from flyfs.cli.main import ExitCode, describe_error

if TYPE_CHECKING:
    from flyfs.cluster import LocalCluster, Server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cluster_command", metavar="CLUSTER_COMMAND", required=True)
    directory = argparse.ArgumentParser(add_help=False)
    directory.add_argument(
        "--dir", type=Path, help="the cluster's directory (default: $FLYFS_HOME, ~/.flyfs)"
    )
    up = sub.add_parser("up", parents=[directory], help="start a local cluster on 127.0.0.1")
    up.add_argument("--nodes", type=positive_int, default=3, help="storage nodes (default 3)")
    up.add_argument("--targets-per-node", type=positive_int, default=2, help="(default 2)")
    up.add_argument("--replicas", type=positive_int, default=3, help="per chain (default 3)")
    up.add_argument(
        "--foreground", action="store_true", help="stay attached; Ctrl-C stops the cluster"
    )
    up.add_argument("--heartbeat-s", type=positive_float, default=1.0, help="(default 1)")
    up.add_argument("--lease-s", type=positive_float, default=10.0, help="(default 10)")
    up.add_argument(
        "--timeout", type=positive_float, default=60.0, help="seconds to settle (default 60)"
    )
    status = sub.add_parser("status", parents=[directory], help="processes, routing, chains")
    status.add_argument("--timeout", type=positive_float, default=10.0, help="(default 10)")
    kill = sub.add_parser("kill", parents=[directory], help="crash (or freeze) a storage node")
    kill.add_argument("node", metavar="NODE", help="storage-N, N, or meta")
    kill.add_argument(
        "--signal", choices=("KILL", "TERM", "STOP", "CONT"), default="KILL", help="(default KILL)"
    )
    start = sub.add_parser("start", parents=[directory], help="start a stopped node again")
    start.add_argument("node", metavar="NODE", help="storage-N, N, or meta")
    start.add_argument("--timeout", type=positive_float, default=30.0, help="(default 30)")
    down = sub.add_parser("down", parents=[directory], help="stop the cluster (idempotent)")
    down.add_argument("--wipe", action="store_true", help="also delete its data, KV and logs")
    down.add_argument(
        "--timeout", type=positive_float, default=10.0, help="SIGTERM → SIGKILL (default 10)"
    )


def run(args: argparse.Namespace) -> int:
    from flyfs.config import flyfs_home

    args.dir = (args.dir or flyfs_home()).expanduser().resolve()
    commands = {"up": up, "status": status, "down": down, "kill": kill, "start": start}
    return commands[args.cluster_command](args)


def up(args: argparse.Namespace) -> int:
    if not args.foreground:
        describe(launch(args), args)
        return ExitCode.OK
    # SIGTERM acts as Ctrl-C does: what started is stopped, while starting or after.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        cluster = launch(args)
        try:
            describe(cluster, args)
            watch(cluster)
        except KeyboardInterrupt:
            print("stopping the cluster", file=sys.stderr, flush=True)
        finally:
            cluster.down()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ExitCode.OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def launch(args: argparse.Namespace) -> LocalCluster:
    from flyfs.cluster import LocalCluster

    return LocalCluster.up(
        args.dir,
        args.nodes,
        args.targets_per_node,
        args.replicas,
        heartbeat_s=args.heartbeat_s,
        lease_s=args.lease_s,
        attached=args.foreground,
        timeout_s=args.timeout,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )


def describe(cluster: LocalCluster, args: argparse.Namespace) -> None:
    """How to reach the cluster, on stdout."""
    from flyfs.cli.columns import print_table
    from flyfs.config import flyfs_home

    layout = cluster.layout
    print(
        f"cluster {cluster.cluster_id} is up: {layout.nodes} storage nodes x"
        f" {layout.targets_per_node} targets, chains of {layout.replicas} replicas"
    )
    print_table(("NAME", "PID", "ADDRESS", "LOG"), [_server_row(s) for s in cluster.servers()])
    print(f"mgmtd (the cluster's address): {cluster.mgmtd_address}")
    print(f"cluster file: {cluster.cluster_file}")
    elsewhere = args.dir != flyfs_home().expanduser().resolve()
    if elsewhere:
        print(f"export FLYFS_CLUSTER={cluster.cluster_file}")
    if not args.foreground:
        print(f"stop it with: flyfs cluster down{f' --dir {args.dir}' if elsewhere else ''}")
    sys.stdout.flush()


def _server_row(server: Server) -> tuple[str, ...]:
    port = "data" if server.service == "storage" else "grpc"
    return (server.name, str(server.pid), server.address(port), str(server.log_path))


def watch(cluster: LocalCluster) -> None:
    """Report servers that end by themselves, until interrupted (KeyboardInterrupt)."""
    print("running in the foreground; Ctrl-C stops the cluster", file=sys.stderr, flush=True)
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for server in cluster.servers():
            if server.exited() and server.name not in reported:
                reported.add(server.name)
                print(f"flyfs: {server.exited_error().strerror}", file=sys.stderr, flush=True)


def status(args: argparse.Namespace) -> int:
    from flyfs.cli.columns import print_table
    from flyfs.cli.df import CHAIN_HEADERS, chain_rows
    from flyfs.cluster import serving_chains
    from flyfs.cluster_file import cluster_file_path, load_cluster_file
    from flyfs.routing import fetch_routing

    found = load_cluster_file(cluster_file_path(args.dir))
    alive = {p.name: p.alive() for p in found.processes}
    print(f"cluster {found.cluster_id}, mgmtd {found.mgmtd}")
    rows = [
        (
            p.name,
            str(p.pid),
            "running" if alive[p.name] else "not running",
            " ".join(f"{k}={v}" for k, v in sorted(p.ports.items())),
            p.log,
        )
        for p in found.processes
    ]
    print_table(("NAME", "PID", "STATE", "PORTS", "LOG"), rows)
    running = sum(alive.values())
    try:
        routing = fetch_routing(found.mgmtd, timeout_s=args.timeout)
    except ConnectionError as exc:
        print(f"flyfs: mgmtd {found.mgmtd} unreachable: {describe_error(exc)}", file=sys.stderr)
        return ExitCode.UNREACHABLE
    print()
    print_table(CHAIN_HEADERS, chain_rows(routing))
    serving, chains = serving_chains(routing)
    print(
        f"\n{running}/{len(alive)} processes running, {serving}/{chains} chains serving,"
        f" routing v{routing.version}"
    )
    healthy = running == len(alive) and chains and serving == chains
    return ExitCode.OK if healthy else ExitCode.FAILED


def kill(args: argparse.Namespace) -> int:
    from flyfs.cluster import signal_node

    record = signal_node(args.dir, args.node, args.signal)
    print(f"sent SIG{args.signal} to {record.name} (pid {record.pid})")
    return ExitCode.OK


def start(args: argparse.Namespace) -> int:
    from flyfs.cluster import start_node

    record = start_node(args.dir, args.node, args.timeout)
    ports = " ".join(f"{k}={v}" for k, v in sorted(record.ports.items()))
    print(f"started {record.name} (pid {record.pid}, {ports}); its targets resync before serving")
    return ExitCode.OK


def down(args: argparse.Namespace) -> int:
    from flyfs.cluster import stop_cluster, wipe_directory

    stopped = stop_cluster(args.dir, timeout_s=args.timeout)
    if not stopped:
        print(f"no cluster file in {args.dir}: nothing to stop")
    for record, was_running in stopped:
        what = "stopped" if was_running else "was not running:"
        print(f"{what} {record.name} (pid {record.pid})")
    if args.wipe:
        removed = wipe_directory(args.dir)
        print(f"wiped {args.dir}: {len(removed)} files and directories removed")
    return ExitCode.OK
