"""`flyfs stat`: everything the filesystem knows about a path (fsspec `info`).

One `key: value` line per field, a blank line between paths; `--json`
prints one JSON object per line for scripts.  Which fields appear beyond
`name`, `size` and `type` is the filesystem's choice (flyfs adds inode,
layout and times).  Times in seconds (`created`, `mtime`, `atime`) are shown
as UTC dates and `mode` in octal here, and left as numbers in JSON.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from flyfs.cli.remote import add_cluster_argument, complete_errors, connect, expand, remote_path

TIME_KEYS = ("created", "mtime", "atime")  # seconds since the epoch, as fsspec gives them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=remote_path, metavar="PATH")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_cluster_argument(parser)


def run(args: argparse.Namespace) -> int:
    with complete_errors():
        fs = connect(args, args.paths)
        infos = [fs.info(name) for p in args.paths for name in expand(fs, p.path)]
    for i, info in enumerate(infos):
        if args.json:
            print(json.dumps(info, default=str, sort_keys=True))
            continue
        if i:
            print()
        print_fields(info)
    return 0


def print_fields(info: dict[str, Any]) -> None:
    """`name`, `type`, `size` first, then the rest by key."""
    first = ("name", "type", "size")
    keys = [k for k in first if k in info] + sorted(k for k in info if k not in first)
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key + ':':<{width + 1}} {field_text(key, info[key])}")


def field_text(key: str, value: Any) -> str:
    if key in TIME_KEYS and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    if key == "mode" and isinstance(value, int):
        return oct(value)
    return str(value)
