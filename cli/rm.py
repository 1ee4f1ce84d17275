"""`flyfs rm`: remove files, and directories with everything below them with `-r`.

Without `-r` a directory is refused (EISDIR) before anything is removed,
as POSIX `rm` does; `-f` makes missing paths and globs matching nothing
no error.  The root is never removed (EPERM), as GNU `rm` preserves `/`:
one stray `/` would empty the cluster.  Removed files' chunks are freed by
meta in the background.
"""

from __future__ import annotations

import argparse
import errno
import os
from typing import TYPE_CHECKING

from flyfs.cli.remote import (
    add_cluster_argument,
    add_recursive_argument,
    complete_errors,
    connect,
    expand,
    is_dir,
    remote_path,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=remote_path, metavar="PATH")
    add_recursive_argument(parser)
    parser.add_argument("-f", "--force", action="store_true", help="missing paths are no error")
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, args.paths)
        targets = [name for p in args.paths for name in removable(fs, p.path, args)]
        if targets:
            fs.rm(targets, recursive=args.recursive)
    return 0


def removable(fs: AbstractFileSystem, path: str, args: argparse.Namespace) -> list[str]:
    """The paths `path` names, each checked as `rm` checks it before anything is removed."""
    try:
        names = expand(fs, path)
        infos = [fs.info(name) for name in names]
    except FileNotFoundError:
        if args.force:
            return []
        raise
    for name, info in zip(names, infos, strict=True):
        if name.rstrip("/") == "":
            raise PermissionError(errno.EPERM, "refusing to remove the root", name)
        if is_dir(info) and not args.recursive:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    return names
