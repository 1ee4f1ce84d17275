"""Checkpoints through fsspec: one `torch.save` file renamed into place, or a DCP directory.

* :func:`save` writes `torch.save(state)` under a temporary name next to
  the target and renames it over the target (`fs.mv`, one meta rename on
  flyfs).  A crash mid-save leaves the previous checkpoint whole, and a
  reader that opened the old file keeps reading the old file: it sees the
  old or the new, never a mix.
* :func:`dcp_save` / :func:`dcp_load` use `torch.distributed.checkpoint`
  with its fsspec storage (`FsspecWriter`/`FsspecReader`, `no_dist=True`),
  which needs `makedirs`, `open`, `exists` and an atomic rename (its
  `.metadata` is written to a temporary name and renamed).  Files are not
  fsynced by DCP (`sync_files=False`): flyfs files have no descriptor, and
  `close()` returns only once every replica committed every byte.  torch
  2.13 keeps the fsspec writer and reader in a private module
  (`torch.distributed.checkpoint._fsspec_filesystem`), not exported.
"""

from __future__ import annotations

import contextlib
import posixpath
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from fsspec.core import url_to_fs


def save(url: str, state: dict[str, Any]) -> int:
    """`torch.save(state)` to `url`, atomically replacing what was there; returns the bytes."""
    fs, path = url_to_fs(url)
    fs.makedirs(posixpath.dirname(path) or "/", exist_ok=True)
    temporary = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        with fs.open(temporary, "wb") as f:
            torch.save(state, f)
        size = fs.size(temporary)
        fs.mv(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(temporary)
        raise
    return size


def load(url: str) -> dict[str, Any]:
    """What :func:`save` wrote to `url` (tensors on the CPU; plain data only, no pickled code)."""
    fs, path = url_to_fs(url)
    with fs.open(path, "rb") as f:
        return torch.load(f, map_location="cpu", weights_only=True)


def dcp_save(url: str, state: dict[str, Any]) -> None:
    """`state` as a `torch.distributed.checkpoint` directory at `url`, from this process alone."""
    from torch.distributed.checkpoint import save as save_dcp
    from torch.distributed.checkpoint._fsspec_filesystem import FsspecWriter

    with _single_process():
        save_dcp(state, storage_writer=FsspecWriter(url, sync_files=False), no_dist=True)


def dcp_load(url: str, state: dict[str, Any]) -> None:
    """Fill `state`'s tensors in place (and replace its other values) from the DCP dir at `url`."""
    from torch.distributed.checkpoint import load as load_dcp
    from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader

    with _single_process():
        load_dcp(state, storage_reader=FsspecReader(url), no_dist=True)


@contextlib.contextmanager
def _single_process() -> Iterator[None]:
    """DCP warns that it assumes one process even when told so (`no_dist=True`): it is meant."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield
