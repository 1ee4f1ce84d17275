"""A byte progress bar (tqdm, on stderr) for `put`, `get` and `cp`.

Shown when stderr is a terminal, or always with `--progress`; never with
`--no-progress`, so pipes and logs stay clean.  The bar's total is what the
command measured before it started.  fsspec reports bytes through
callbacks: the top callback of `put`/`get` hands each file's transfer a
child (:meth:`ByteProgress.branched`), and the child's byte updates move
the one bar.  A filesystem that reports no bytes still moves the bar once
per source: :meth:`ByteProgress.done_with` catches it up.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fsspec.callbacks import Callback

if TYPE_CHECKING:
    from tqdm import tqdm

    from flyfs.cli.remote import Source


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )


def wanted(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else args.progress


class ByteProgress(Callback):
    """fsspec's top-level callback: file counts are ignored, children report bytes."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar
        self.expected = 0  # bytes of the sources finished so far, as measured up front

    def branched(self, path_1: str, path_2: str, **kwargs: Any) -> Callback:
        return _FileBytes(self.bar)

    def done_with(self, nbytes: int) -> None:
        """One source of `nbytes` is done: catch up what its transfer did not report."""
        self.expected += nbytes
        if self.bar.n < self.expected:
            self.bar.update(self.expected - self.bar.n)

    def close(self) -> None:
        self.bar.close()


class _FileBytes(Callback):
    """One file's transfer: each relative update is bytes moved."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def relative_update(self, inc: int = 1) -> None:
        self.value += inc
        self.bar.update(inc)

    def absolute_update(self, value: int) -> None:
        self.bar.update(value - self.value)
        self.value = value


def byte_progress(args: argparse.Namespace, total: int, label: str) -> ByteProgress:
    """A bar over `total` bytes, disabled (drawing nothing) unless :func:`wanted`."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=not wanted(args),
    )  # no dynamic_ncols: it draws nothing on a terminal that reports 0 columns
    return ByteProgress(bar)


def transfer_each(
    args: argparse.Namespace,
    sources: Sequence[Source],
    label: str,
    move: Callable[[Source, ByteProgress], None],
) -> None:
    """`move` each source under one bar over all their bytes (put, get, cp)."""
    with byte_progress(args, sum(s.size for s in sources), label) as progress:
        for source in sources:
            move(source, progress)
            progress.done_with(source.size)
