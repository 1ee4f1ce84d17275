"""`flyfs cp`: copy files (directories with `-r`) within a cluster.

Both sides are remote (`put` and `get` cross to local disk).  Naming
follows `cp -r` (fsspec's rules), several sources go into the destination
as a directory, and the byte progress bar moves once per source, since
fsspec's copy reports no bytes.
"""

from __future__ import annotations

import argparse

from flyfs.cli.progress import add_progress_argument, transfer_each
from flyfs.cli.remote import (
    add_cluster_argument,
    add_recursive_argument,
    complete_errors,
    connect,
    into_directory,
    remote_path,
    sources,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", type=remote_path, metavar="SOURCE")
    parser.add_argument("destination", type=remote_path, metavar="DEST")
    add_recursive_argument(parser)
    add_progress_argument(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, [*args.sources, args.destination])
        found = sources(fs, args.sources, args.recursive)
        destination = into_directory(args.destination.path, found)
        transfer_each(
            args,
            found,
            "cp",
            lambda source, _: fs.copy(source.path, destination, recursive=args.recursive),
        )
    return 0
