"""`flyfs cat`: write files' bytes to stdout, in order, streamed in blocks.

A file is read through `fs.open` in blocks of `BLOCK` bytes, so a file
larger than memory streams; a directory is EISDIR, as for POSIX `cat`.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from flyfs.cli.remote import (
    add_cluster_argument,
    complete_errors,
    connect,
    expand,
    is_dir,
    remote_path,
)

BLOCK = 4 * 1024 * 1024  # one default chunk: a read maps onto one storage request


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=remote_path, metavar="PATH")
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with complete_errors():
        fs = connect(args, args.paths)
        for p in args.paths:
            for name in expand(fs, p.path):
                if is_dir(fs.info(name)):
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
                with fs.open(name, "rb", block_size=BLOCK) as f:
                    while block := f.read(BLOCK):
                        out.write(block)
    out.flush()
    return 0
