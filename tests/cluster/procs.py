"""Find processes by what their command line names, to prove nothing outlived a test."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def processes_naming(directory: Path) -> list[int]:
    """Pids whose command line mentions `directory` (a cluster's configs live there)."""
    needle = os.fsencode(directory)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # it exited while we looked
            continue
    return found


def kill_leftovers(directory: Path) -> list[int]:
    """SIGKILL whatever still names `directory`; returns the pids (a test then fails)."""
    pids = processes_naming(directory)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids
