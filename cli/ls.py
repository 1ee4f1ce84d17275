"""`flyfs ls`: list directories and files, full paths, one per line.

Full paths rather than GNU's bare names, as `hdfs dfs -ls` and `gsutil ls`
print them: a line can be passed back to any other command.  Directories
end in `/`.  `-l` adds size and modification time (sizes human-readable
unless `-b`), `-R` lists everything below, `-d` lists directories
themselves.  Globs (`'/data/*.bin'`, quoted from the shell) match remote
paths.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flyfs.cli.columns import add_bytes_argument, print_columns, size_text
from flyfs.cli.remote import (
    add_cluster_argument,
    complete_errors,
    connect,
    expand,
    is_dir,
    remote_path,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=remote_path, metavar="PATH", help="remote paths (default /)"
    )
    parser.add_argument("-l", "--long", action="store_true", help="size and modification time")
    parser.add_argument("-R", "--recursive", action="store_true", help="everything below")
    parser.add_argument(
        "-d", "--directory", action="store_true", help="list directories, not their entries"
    )
    add_bytes_argument(parser)
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    paths = args.paths or [remote_path("/")]
    with complete_errors():
        fs = connect(args, paths)
        names = [name for p in paths for name in expand(fs, p.path)]
        entries = [entry for name in names for entry in listing(fs, name, args)]
    if args.long:
        print_columns([long_row(e, args.bytes) for e in entries], right=(0,))
    else:
        for entry in entries:
            print(display_name(entry))
    return 0


def listing(fs: AbstractFileSystem, path: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """`path`'s entries sorted by name: itself if a file (or with -d), else its contents."""
    info = fs.info(path)
    if not is_dir(info) or args.directory:
        return [info]
    if args.recursive:
        found = fs.find(path, withdirs=True, detail=True)
        own = info["name"].rstrip("/")
        entries = [e for name, e in found.items() if name.rstrip("/") != own]
    else:
        entries = fs.ls(path, detail=True)
    return sorted(entries, key=lambda e: e["name"])


def display_name(info: dict[str, Any]) -> str:
    name = info["name"]
    return name.rstrip("/") + "/" if is_dir(info) else name


def long_row(info: dict[str, Any], exact: bool) -> tuple[str, str, str]:
    size = "-" if is_dir(info) else size_text(info["size"], exact)
    return size, modified_text(info), display_name(info)


def modified_text(info: dict[str, Any]) -> str:
    """Minutes in UTC; `-` when the filesystem gives no time for this entry."""
    value = info.get("mtime", info.get("created"))
    if value is None:
        return "-"
    when = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
