"""Training windows read straight from the corpus shards, a batch per `cat_ranges` call.

Map-style: item `i` is the `seq_len + 1` tokens starting at the `i`-th
possible offset of the corpus (shards laid end to end, windows never
crossing a shard's end), so a random index is a random offset and the
sampler shuffles at sample level with no local copy of the data.
`__getitems__` (which a `DataLoader` calls with a whole batch of indices)
reads every window of the batch with one `fs.cat_ranges`: on flyfs that is
one batched request per storage node, not a round trip per sample.

:class:`SeededBatches` draws batch `k` of a run from a generator seeded by
(seed, k) alone, so a run resumed at step `k` reads exactly the batches
the uninterrupted run would have, with or without worker processes.
"""

from __future__ import annotations

import bisect
import itertools
import posixpath
import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from flyfs.trainer.corpus import read_index


class TokenWindows(Dataset[torch.Tensor]):
    """Windows of `seq_len + 1` uint8 tokens over the corpus at an fsspec URL."""

    def __init__(
        self, url: str, seq_len: int, storage_options: dict[str, Any] | None = None
    ) -> None:
        self.url, self.seq_len = url, seq_len
        self.fs, root, self.index = read_index(url, storage_options)
        self.paths = [posixpath.join(root, s.path) for s in self.index.shards]
        counts = [max(0, s.tokens - seq_len) for s in self.index.shards]
        self.firsts = [0, *itertools.accumulate(counts)]  # first item of each shard

    def __len__(self) -> int:
        return self.firsts[-1]

    def locate(self, item: int) -> tuple[int, int]:
        """(shard number, token offset in it) of item `item`."""
        if not 0 <= item < len(self):
            raise IndexError(f"item {item} outside 0..{len(self) - 1}")
        shard = bisect.bisect_right(self.firsts, item) - 1
        return shard, item - self.firsts[shard]

    def __getitem__(self, item: int) -> torch.Tensor:
        return self.__getitems__([item])[0]

    def __getitems__(self, items: Sequence[int]) -> list[torch.Tensor]:
        """Every item's window, read with one `cat_ranges` (one copy into one tensor)."""
        where = [self.locate(i) for i in items]
        paths = [self.paths[shard] for shard, _ in where]
        starts = [offset for _, offset in where]
        ends = [offset + self.seq_len + 1 for offset in starts]
        pieces = self.fs.cat_ranges(paths, starts, ends, on_error="raise")
        joined = bytearray(b"".join(pieces))
        if len(joined) != len(items) * (self.seq_len + 1):
            raise OSError(f"short read from {self.url}: {len(joined)} bytes for {len(items)} items")
        return list(torch.frombuffer(joined, dtype=torch.uint8).view(len(items), -1).unbind(0))


class SeededBatches(Sampler[list[int]]):
    """Batches `first`..`last - 1` of a run, each random and fixed by (seed, batch number)."""

    def __init__(self, items: int, batch_size: int, seed: int, first: int, last: int) -> None:
        self.items, self.batch_size, self.seed = items, batch_size, seed
        self.first, self.last = first, last

    def __len__(self) -> int:
        return max(0, self.last - self.first)

    def __iter__(self) -> Iterator[list[int]]:
        for k in range(self.first, self.last):
            # A string seed is hashed whole (SHA-512); torch's generator keeps only 32 bits.
            rng = random.Random(f"{self.seed}/{k}")
            yield [rng.randrange(self.items) for _ in range(self.batch_size)]


def batch_loader(
    dataset: TokenWindows,
    batch_size: int,
    seed: int,
    first: int,
    last: int,
    workers: int = 2,
) -> DataLoader[torch.Tensor]:
    """Batches `first`..`last - 1` as [batch, seq_len + 1] uint8 tensors.

    Workers are forked: the dataset's filesystem, made in this process,
    keeps working in them (flyfs reconnects per process).
    """
    return DataLoader(
        dataset,
        batch_sampler=SeededBatches(len(dataset), batch_size, seed, first, last),
        num_workers=workers,
        multiprocessing_context="fork" if workers else None,
        prefetch_factor=4 if workers else None,
    )
