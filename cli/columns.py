"""Output of every command that prints rows (`ls -l`, `du`, `df`, `cluster`): sizes and columns.

Sizes are human-readable (`1.5 GiB`, binary units) unless `-b` asks for
bytes: `-h` cannot mean "human" here, because it is every flyfs command's
`--help`.  The listing commands print rows without a header, so each line
is a record scripts can split; the status tables (`df`, `cluster`) have one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def add_bytes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-b", "--bytes", action="store_true", help="exact sizes in bytes (default: 1.5 GiB)"
    )


def human_bytes(n: int) -> str:
    """Binary units, one decimal: `512 B`, `1.5 GiB`."""
    size = float(n)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            break
        size /= 1024
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"


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


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A header line, then the rows, columns padded to their widest cell."""
    print_columns([tuple(headers), *(tuple(str(cell) for cell in row) for row in rows)])
