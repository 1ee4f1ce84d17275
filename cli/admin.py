"""`flyfs admin`: operator commands.

- `fsck`: check the namespace invariants through a meta server, named with
  `--meta HOST:PORT`.  Exit code 0 when the namespace is consistent, 1 when
  fsck found problems (one line each), 3 when meta cannot be reached.
- `create-chains`: place mgmtd's free targets into chains (`--dry-run` only
  shows them).  One line per new chain on stdout, a summary on stderr; exit
  code 0 when done, 1 when mgmtd refused (too few nodes or free targets),
  3 when mgmtd cannot be reached.
"""

from __future__ import annotations

import argparse
import sys

from flyfs.arguments import positive_int
from flyfs.cli.main import ExitCode


def address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="admin_command", metavar="ADMIN_COMMAND", required=True)
    fsck = sub.add_parser("fsck", help="check namespace invariants (read-only)")
    fsck.add_argument("--meta", type=address, required=True, help="a meta server, HOST:PORT")
    fsck.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    fsck.set_defaults(admin_run=run_fsck)
    chains = sub.add_parser("create-chains", help="place free storage targets into chains")
    chains.add_argument("--mgmtd", type=address, required=True, help="mgmtd, HOST:PORT")
    chains.add_argument("--replicas", type=positive_int, default=3, help="targets per chain (3)")
    chains.add_argument(
        "--chain-count", type=positive_int, default=0, help="chains to make (default: all possible)"
    )
    chains.add_argument("--dry-run", action="store_true", help="show the chains, store nothing")
    chains.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    chains.set_defaults(admin_run=run_create_chains)


def run(args: argparse.Namespace) -> int:
    return args.admin_run(args)


def run_fsck(args: argparse.Namespace) -> int:
    import grpc

    from flyfs import errors
    from flyfs.proto import meta_pb2, meta_pb2_grpc
    from flyfs.request_tags import RequestTagger

    with grpc.insecure_channel(args.meta) as channel:
        request = meta_pb2.FsckRequest(tag=RequestTagger().tag())
        try:
            report = meta_pb2_grpc.MetaStub(channel).Fsck(request, timeout=args.timeout)
        except grpc.RpcError as exc:
            raise errors.from_grpc(exc) from None
    for problem in report.problems:
        print(f"{problem.kind}\tinode {problem.inode_id}\t{problem.detail}")
    more = " (list truncated)" if report.problems_truncated else ""
    print(
        f"{report.inodes} inodes, {report.directories} directories, {report.entries} entries:"
        f" {len(report.problems) or 'no'} problems{more}",
        file=sys.stderr,
    )
    return ExitCode.FAILED if report.problems else ExitCode.OK


def run_create_chains(args: argparse.Namespace) -> int:
    import grpc

    from flyfs import errors
    from flyfs.proto import mgmtd_pb2, mgmtd_pb2_grpc
    from flyfs.request_tags import RequestTagger
    from flyfs.routing import fetch_routing

    request = mgmtd_pb2.CreateChainsRequest(
        tag=RequestTagger().tag(),
        replicas=args.replicas,
        chain_count=args.chain_count,
        dry_run=args.dry_run,
    )
    with grpc.insecure_channel(args.mgmtd) as channel:
        try:
            made = mgmtd_pb2_grpc.MgmtdStub(channel).CreateChains(request, timeout=args.timeout)
        except grpc.RpcError as exc:
            raise errors.from_grpc(exc) from None
    routing = fetch_routing(args.mgmtd, timeout_s=args.timeout)
    print("chain\ttargets\tnodes")
    for chain in made.chains:
        nodes = (str(routing.target(t).node_id) for t in chain.target_ids)
        print(f"{chain.chain_id}\t{','.join(map(str, chain.target_ids))}\t{','.join(nodes)}")
    table = made.table
    stored = "dry run, nothing stored" if args.dry_run else f"routing v{made.routing_version}"
    print(
        f"chain table {table.table_id} v{table.table_version}: {len(made.chains)} new chains"
        f" of {table.replicas}, {len(table.chain_ids)} in all ({stored})",
        file=sys.stderr,
    )
    return ExitCode.OK
