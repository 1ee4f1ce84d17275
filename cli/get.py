"""`flyfs get`: copy files (directories with `-r`) from the cluster to local paths.

The mirror of `flyfs put`: `flyfs get /data/a.bin .` writes `./a.bin`;
remote globs (quoted) expand on the cluster; several sources go into the
local destination as a directory.  Sources are checked before the first
byte moves; a byte progress bar shows on a terminal (`--progress`).
"""

from __future__ import annotations

import argparse
import os

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
    parser.add_argument("sources", nargs="+", type=remote_path, metavar="REMOTE")
    parser.add_argument("destination", metavar="LOCAL", help="a local file or directory")
    add_recursive_argument(parser)
    add_progress_argument(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, args.sources)
        found = sources(fs, args.sources, args.recursive)
        destination = into_directory(args.destination, found, os.sep)
        transfer_each(
            args,
            found,
            "get",
            lambda source, progress: fs.get(
                source.path, destination, recursive=args.recursive, callback=progress
            ),
        )
    return 0
