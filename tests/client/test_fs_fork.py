"""A filesystem made before workers start keeps working in them and in the parent.

Each scenario runs `fork_workload.py` in a fresh interpreter (as a training job
would run): bare `os.fork` under a parent that keeps reading and writing;
torch DataLoader workers (2) under `fork` with a channel open and a read in
flight in the parent at fork time, `fork` with persistent workers, and `spawn`
and `forkserver` (the instance pickles).  Workers read ranges and write files,
so a child's meta mutations are checked too: it must tag them with its own
client id, or meta would answer it with the parent's recorded replies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster

pytest.importorskip("torch")

WORKLOAD = Path(__file__).with_name("fork_workload.py")


@pytest.mark.parametrize("scenario", ["bare", "fork", "fork-persistent", "spawn", "forkserver"])
def test_instance_survives_workers(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, base: str, scenario: str
) -> None:
    run = subprocess.run(
        [sys.executable, str(WORKLOAD), scenario, local_cluster.mgmtd_address, base],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
    assert "fork support is off" not in run.stderr
