"""`flyfs du`: bytes used under each path (the sum of file lengths, one replica).

One `SIZE  PATH` line per argument, as `du -s` prints; `-a` first lists
every file below.  Sizes are human-readable unless `-b`; `-c` adds a grand
total line.
"""

from __future__ import annotations

import argparse

from flyfs.cli.columns import add_bytes_argument, print_columns, size_text
from flyfs.cli.remote import (
    add_cluster_argument,
    complete_errors,
    connect,
    expand,
    remote_path,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=remote_path, metavar="PATH", help="remote paths (default /)"
    )
    parser.add_argument("-a", "--all", action="store_true", help="also every file below")
    parser.add_argument("-c", "--total", action="store_true", help="a grand total line")
    add_bytes_argument(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    paths = args.paths or [remote_path("/")]
    rows: list[tuple[int, str]] = []
    grand = 0
    with complete_errors():
        fs = connect(args, paths)
        for p in paths:
            for name in expand(fs, p.path):
                fs.info(name)  # fsspec's du counts a missing path as empty: make it ENOENT
                sizes = fs.du(name, total=False)
                if args.all:
                    rows.extend((size, file) for file, size in sorted(sizes.items()))
                total = sum(sizes.values())
                rows.append((total, name))
                grand += total
    if args.total:
        rows.append((grand, "total"))
    print_columns([(size_text(n, args.bytes), name) for n, name in rows], right=(0,))
    return 0
