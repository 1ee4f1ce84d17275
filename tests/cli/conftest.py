"""The file commands against an in-memory fsspec filesystem (`memfs`), and `flyfs()` to run one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from flyfs.cli import remote
from flyfs.cli.main import main


@pytest.fixture
def memfs(monkeypatch: pytest.MonkeyPatch) -> MemoryFileSystem:
    """The filesystem every command gets; `memfs.clusters` lists the clusters they asked for."""
    # fsspec keeps a MemoryFileSystem's files class-wide: a class per test keeps tests apart.
    fresh = {"store": {}, "pseudo_dirs": [""], "cachable": False}
    fs = type("TestMemoryFileSystem", (MemoryFileSystem,), fresh)()
    fs.clusters = []

    def filesystem(cluster: str | None) -> MemoryFileSystem:
        fs.clusters.append(cluster)
        return fs

    monkeypatch.setattr(remote, "filesystem", filesystem)
    return fs


@pytest.fixture
def flyfs(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., tuple[int, str, str]]:
    """Run `flyfs ARGS` in this process: (exit code, stdout, stderr), usage errors included."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsysbinary.readouterr()
        return int(code), out.decode(errors="replace"), err.decode()

    return run
