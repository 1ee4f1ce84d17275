"""`flyfs admin fsck`: check the namespace invariants through a meta server.

Until mgmtd lists meta servers (issue 6), the meta server is named with
`--meta HOST:PORT`.  Exit code 0 when the namespace is consistent, 1 when
fsck found problems (one line each), 3 when meta cannot be reached.
"""

from __future__ import annotations

import argparse
import sys

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


def run(args: argparse.Namespace) -> int:
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
