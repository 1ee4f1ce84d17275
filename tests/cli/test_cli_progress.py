"""Progress bars: on a terminal or with --progress, never in pipes; bytes add up."""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pty
import select
import struct
import sys
import termios
from pathlib import Path

import pytest
from tqdm import tqdm

from flyfs.cli.progress import ByteProgress, wanted


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x01" * (3 * 1024 * 1024))
    return path


def test_no_bar_when_stderr_is_not_a_terminal(flyfs, memfs, big: Path) -> None:
    assert flyfs("put", str(big), "/big.bin") == (0, "", "")
    assert flyfs("get", "/big.bin", str(big.parent / "back.bin")) == (0, "", "")
    assert flyfs("cp", "/big.bin", "/copy.bin") == (0, "", "")
    assert flyfs("put", "--progress", "--no-progress", str(big), "/big.bin") == (0, "", "")


@pytest.mark.parametrize("command", ["put", "get", "cp"])
def test_progress_forces_a_byte_bar(flyfs, memfs, big: Path, command: str) -> None:
    memfs.pipe("/big.bin", big.read_bytes())
    source, destination = {
        "put": (str(big), "/up.bin"),
        "get": ("/big.bin", str(big.parent / "down.bin")),
        "cp": ("/big.bin", "/copy.bin"),
    }[command]
    code, out, err = flyfs(command, "--progress", source, destination)
    assert (code, out) == (0, "")
    final = err.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith(f"{command}: 100%") and "3.00M/3.00M" in final


@pytest.mark.parametrize(
    ("tty", "option", "shown"),
    [
        (True, None, True),
        (False, None, False),
        (False, True, True),
        (True, False, False),
    ],
)
def test_bar_shown_on_a_terminal_unless_told(monkeypatch, tty, option, shown) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    assert wanted(argparse.Namespace(progress=option)) is shown


def test_bar_drawn_on_a_real_terminal(flyfs, memfs, big: Path, monkeypatch) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    with os.fdopen(slave, "w") as terminal, os.fdopen(master, "rb", buffering=0) as screen:
        monkeypatch.setattr(sys, "stderr", terminal)
        assert flyfs("put", str(big), "/big.bin")[0] == 0
        terminal.flush()
        drawn = read_all(screen).replace(b"\r", b"\n").decode()
    assert "put: 100%" in drawn and "3.00M/3.00M" in drawn


def read_all(screen: io.RawIOBase) -> bytes:
    """What the terminal shows: a pty hands it over in pieces."""
    data = b""
    while select.select([screen], [], [], 0.2)[0]:
        data += screen.read(65536)
    return data


def test_sources_that_report_no_bytes_still_complete_the_bar() -> None:
    bar = tqdm(total=300, file=io.StringIO())
    progress = ByteProgress(bar)
    with progress.branched("a", "b") as child:
        child.set_size(100)
        child.relative_update(60)  # a filesystem reporting bytes
    progress.done_with(100)
    assert bar.n == 100
    progress.done_with(200)  # one reporting nothing
    assert bar.n == 300
    progress.close()
