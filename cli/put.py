"""`flyfs put`: copy local files (directories with `-r`) to the cluster.

`flyfs put a.bin /data/` puts `/data/a.bin`; `flyfs put -r dir /data/dir`
copies the tree, as `cp -r` names it (fsspec's rules: into an existing
directory, or onto the new name).  Several sources go into the
destination as a directory.  Sources are checked before the first byte
moves; a byte progress bar shows on a terminal (`--progress`).
"""

from __future__ import annotations

import argparse
import errno
import os

from flyfs.cli.progress import add_progress_argument, transfer_each
from flyfs.cli.remote import (
    Source,
    add_cluster_argument,
    add_recursive_argument,
    complete_errors,
    connect,
    into_directory,
    remote_path,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="LOCAL", help="local files or directories")
    parser.add_argument("destination", type=remote_path, metavar="REMOTE")
    add_recursive_argument(parser)
    add_progress_argument(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    sources = [local_source(path, args.recursive) for path in args.sources]
    destination = into_directory(args.destination.path, sources)
    with complete_errors():
        fs = connect(args, [args.destination])
        transfer_each(
            args,
            sources,
            "put",
            lambda source, progress: fs.put(
                source.path, destination, recursive=args.recursive, callback=progress
            ),
        )
    return 0


def local_source(path: str, recursive: bool) -> Source:
    """`path` and its bytes; missing is ENOENT, a directory without `recursive` EISDIR."""
    if not os.path.isdir(path):
        return Source(path, os.stat(path).st_size)
    if not recursive:
        raise IsADirectoryError(errno.EISDIR, "is a directory (use -r)", path)
    size = sum(
        os.stat(os.path.join(root, name)).st_size
        for root, _, names in os.walk(path)
        for name in names
    )
    return Source(path, size)
