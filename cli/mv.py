"""`flyfs mv`: move or rename files and directories within a cluster.

Directories move without `-r`, as with POSIX `mv`; fsspec's `mv` is a
rename where the filesystem has one (flyfs: one meta transaction).
Several sources go into the destination as a directory.
"""

from __future__ import annotations

import argparse

from flyfs.cli.remote import (
    add_cluster_argument,
    complete_errors,
    connect,
    expand,
    into_directory,
    remote_path,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", type=remote_path, metavar="SOURCE")
    parser.add_argument("destination", type=remote_path, metavar="DEST")
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, [*args.sources, args.destination])
        found = [name for p in args.sources for name in expand(fs, p.path)]
        destination = into_directory(args.destination.path, found)
        for name in found:
            fs.mv(name, destination, recursive=True)
    return 0
