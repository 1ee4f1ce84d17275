"""`flyfs mkdir`: create directories; `-p` creates parents and accepts existing ones."""

from __future__ import annotations

import argparse

from flyfs.cli.remote import add_cluster_argument, complete_errors, connect, remote_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=remote_path, metavar="PATH")
    parser.add_argument(
        "-p", "--parents", action="store_true", help="create parents; existing is no error"
    )
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, args.paths)
        for p in args.paths:
            if args.parents:
                fs.makedirs(p.path, exist_ok=True)
            else:
                fs.mkdir(p.path, create_parents=False)
    return 0
