"""A training job SIGKILLed after a checkpoint resumes from flyfs bit for bit.

Three runs of `train_worker.py`, each a fresh interpreter with two forked
DataLoader workers reading the corpus from flyfs: one saving every 3 steps
and killed (SIGKILL, with its workers) right after its first save; one
resumed from that checkpoint for 2 more steps; and an uninterrupted run to
the same step.  The resumed steps' losses and the final parameters must be
bit-identical to the uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from flyfs.cluster import LocalCluster
from flyfs.trainer import checkpoint
from tests.trainer.conftest import Corpus

WORKER = Path(__file__).with_name("train_worker.py")
MORE = 2


def start(*args: str) -> subprocess.Popen[str]:
    """A worker in its own process group, so one killpg reaches its DataLoader workers too."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def events(*args: str) -> list[dict[str, Any]]:
    """Run a worker to its end; its events."""
    proc = start(*args)
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        stop(proc)
    assert proc.returncode == 0, out
    return [json.loads(line) for line in out.splitlines()]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def losses(run: list[dict[str, Any]]) -> dict[int, str]:
    return {e["step"]: e["loss"] for e in run if "loss" in e}


def test_resume_after_sigkill_is_bit_identical(local_cluster: LocalCluster, corpus: Corpus) -> None:
    address = local_cluster.mgmtd_address
    saved_to = f"flyfs://{address}/resume-{uuid.uuid4().hex[:8]}/checkpoint.pt"

    killed_run = start(corpus.remote, saved_to, "--until", "1000", "--every", "3")
    seen: list[dict[str, Any]] = []
    try:
        for line in killed_run.stdout:  # ends if the worker dies; it saves at step 3
            seen.append(json.loads(line))
            if "saved" in seen[-1] or len(seen) > 100:
                break
    finally:
        stop(killed_run)
    assert killed_run.returncode == -signal.SIGKILL
    assert "saved" in seen[-1], seen

    resumed = events(corpus.remote, saved_to, "--resume", "--more", str(MORE))
    start_step = resumed[0]["resumed"]
    assert start_step >= seen[-1]["saved"] and start_step % 3 == 0
    assert checkpoint.load(saved_to)["step"] == start_step  # the resumed run saved nothing
    reference = events(
        corpus.remote, saved_to + ".reference", "--until", str(start_step + MORE), "--every", "3"
    )

    resumed_losses, reference_losses = losses(resumed), losses(reference)
    assert sorted(resumed_losses) == [start_step + k + 1 for k in range(MORE)]
    assert {s: reference_losses[s] for s in resumed_losses} == resumed_losses
    assert losses(seen).items() <= reference_losses.items()  # the killed run agreed too
    assert resumed[-1]["params"] == reference[-1]["params"]
