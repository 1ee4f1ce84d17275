"""What the file commands share: remote path arguments, the filesystem, globs, errors.

Every file command is a thin layer over the fsspec filesystem
`flyfs.client.FlyfsFileSystem`: it parses paths, calls one or two fsspec
methods and prints.  A remote path is a `flyfs://HOST:PORT/path` URL (the
netloc names the cluster by its mgmtd address) or an absolute `/path` on
the cluster `--cluster` names, resolved as every client resolves it
(DESIGN.md: option, `FLYFS_CLUSTER`, `$FLYFS_HOME/cluster.json`).
:func:`filesystem` is the one place a command gets its filesystem, so
tests can hand commands an in-memory one.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

PROTOCOL = "flyfs"
_MAGIC = re.compile(r"[*?[]")

# fsspec raises some builtins with only a path (`FileNotFoundError(path)`);
# these give them the errno the one-line error report names.
_ERRNO_OF = {
    FileNotFoundError: errno.ENOENT,
    FileExistsError: errno.EEXIST,
    IsADirectoryError: errno.EISDIR,
    NotADirectoryError: errno.ENOTDIR,
    PermissionError: errno.EACCES,
}


@dataclass(frozen=True)
class RemotePath:
    """A path on a cluster: `cluster` is the URL's netloc, None for the default cluster."""

    cluster: str | None
    path: str


@dataclass(frozen=True)
class Source:
    """One source of a transfer and its bytes (all below it, for a directory)."""

    path: str
    size: int


def remote_path(text: str) -> RemotePath:
    """argparse type: a `flyfs://` URL or an absolute path; anything else is a usage error.

    The URL rules are the client's (`flyfs.client.urls`).  A trailing `/` is
    kept: fsspec's put and copy read it as "into this directory".
    """
    from flyfs.client.urls import split_url

    scheme, sep, _ = text.partition("://")
    if sep and scheme != PROTOCOL:
        raise argparse.ArgumentTypeError(f"{text!r}: only {PROTOCOL}:// URLs name remote paths")
    if not sep and not text.startswith("/"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a remote path: use /absolute/path or {PROTOCOL}://HOST:PORT/path"
        )
    try:
        cluster, path = split_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    into = text.endswith("/") and path != "/"
    return RemotePath(cluster, path + "/" if into else path)


def add_cluster_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        metavar="ADDR_OR_FILE",
        help="mgmtd's HOST:PORT or a cluster file; a flyfs://HOST:PORT path names its own"
        " (default: $FLYFS_CLUSTER, then $FLYFS_HOME/cluster.json)",
    )


def add_recursive_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-r", "-R", "--recursive", action="store_true", help="directories and their contents"
    )


def connect(args: argparse.Namespace, paths: Sequence[RemotePath]) -> AbstractFileSystem:
    """The filesystem of the one cluster `paths` name (their URLs, else `--cluster`)."""
    named = {p.cluster for p in paths if p.cluster is not None}
    if len(named) > 1:
        first, second = sorted(named)
        raise OSError(errno.EXDEV, "paths on two clusters", first, None, second)
    return filesystem(named.pop() if named else args.cluster)


def filesystem(cluster: str | None) -> AbstractFileSystem:
    """The fsspec filesystem of `cluster` (None: the default cluster); tests replace this."""
    from flyfs.client import FlyfsFileSystem

    return FlyfsFileSystem(cluster=cluster)


def expand(fs: AbstractFileSystem, path: str) -> list[str]:
    """`path`, or the sorted paths its glob matches; no match is ENOENT as for a missing path."""
    if not _MAGIC.search(path):
        return [path]
    matches = sorted(fs.glob(path))
    if not matches:
        raise FileNotFoundError(errno.ENOENT, "no match", path)
    return matches


def sources(fs: AbstractFileSystem, paths: Sequence[RemotePath], recursive: bool) -> list[Source]:
    """Every path and glob match with its bytes, checked before anything is transferred.

    A directory without `recursive` is EISDIR, as for `cp` without `-r`.
    """
    found = []
    for p in paths:
        for name in expand(fs, p.path):
            info = fs.info(name)
            if not is_dir(info):
                found.append(Source(name, info["size"]))
            elif recursive:
                found.append(Source(name, fs.du(name)))
            else:
                raise IsADirectoryError(errno.EISDIR, "is a directory (use -r)", name)
    return found


def into_directory(destination: str, sources: Sequence[object], sep: str = "/") -> str:
    """Several sources go into `destination` as a directory: fsspec's trailing separator says so."""
    many = len(sources) > 1
    return destination + sep if many and not destination.endswith(sep) else destination


def is_dir(info: dict[str, Any]) -> bool:
    return info.get("type") == "directory"


@contextmanager
def complete_errors() -> Iterator[None]:
    """Give errno-less builtins from fsspec an errno and path, so the error line names both."""
    try:
        yield
    except tuple(_ERRNO_OF) as exc:
        if exc.errno is not None:
            raise
        kind = next(k for k in type(exc).__mro__ if k in _ERRNO_OF)
        code = _ERRNO_OF[kind]
        path = str(exc.args[0]) if len(exc.args) == 1 else None
        raise kind(code, os.strerror(code), path) from exc
