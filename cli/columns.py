"""Output of the listing commands (`ls -l`, `du`): sizes and aligned columns.

Sizes are human-readable (`1.5 GiB`, binary units as `flyfs df` prints
them) unless `-b` asks for bytes: `-h` cannot mean "human" here, because
it is every flyfs command's `--help`.  Rows have no header, so each line
is a record scripts can split.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from flyfs.cli.df import human_bytes


def add_bytes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-b", "--bytes", action="store_true", help="exact sizes in bytes (default: 1.5 GiB)"
    )


def size_text(n: int, exact: bool) -> str:
    return str(n) if exact else human_bytes(n)


def print_columns(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> None:
    """Rows without a header, columns padded to their widest cell (`right` ones right-aligned)."""
    if not rows:
        return
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    for row in rows:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
