"""Checkpoints on flyfs: round trips, a failed save, a reader racing renames, and DCP."""

from __future__ import annotations

import threading

import pytest
import torch

from flyfs.client import FlyfsFileSystem
from flyfs.cluster import LocalCluster
from flyfs.trainer import checkpoint
from flyfs.trainer.train import Learner, TrainConfig
from tests.trainer.conftest import Corpus

VERSIONS = 8


def url(cluster: LocalCluster, base: str, name: str) -> str:
    return f"flyfs://{cluster.mgmtd_address}{base}/{name}"


def trained(corpus: Corpus, seed: int, steps: int = 2) -> Learner:
    learner = Learner(TrainConfig(data=corpus.local, batch_size=2, seq_len=32, seed=seed))
    window = torch.frombuffer(bytearray(corpus.tokens[: 2 * 33]), dtype=torch.uint8).view(2, 33)
    for _ in range(steps):
        learner.train_step(window)
    return learner


def assert_same(a: Learner, b: Learner) -> None:
    assert a.step == b.step
    for (name, x), y in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(x, y), name
    moments_a, moments_b = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    assert moments_a.keys() == moments_b.keys()
    for key, state in moments_a.items():
        for name, value in state.items():
            assert torch.equal(value, moments_b[key][name]), (key, name)


def test_save_and_load(local_cluster: LocalCluster, base: str, corpus: Corpus) -> None:
    learner = trained(corpus, seed=1)
    target = url(local_cluster, base, "ck/model.pt")  # the parent directory is created
    size = checkpoint.save(target, learner.state())
    fresh = Learner(learner.config)
    fresh.restore(checkpoint.load(target))
    assert_same(fresh, learner)
    assert torch.equal(torch.get_rng_state(), learner.state()["rng"])
    assert size > 4 * learner.model.parameter_count()


def test_failed_save_keeps_the_previous_checkpoint(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, base: str, corpus: Corpus
) -> None:
    learner = trained(corpus, seed=2)
    target = url(local_cluster, base, "model.pt")
    checkpoint.save(target, learner.state())
    broken = {**learner.state(), "step": lambda: None}  # torch.save fails after writing tensors
    with pytest.raises(Exception, match="pickle"):
        checkpoint.save(target, broken)
    assert fs.ls(base, detail=False) == [f"{base}/model.pt"]  # the temporary is gone
    assert checkpoint.load(target)["step"] == learner.step


def test_reader_sees_old_or_new_never_a_mix(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, base: str
) -> None:
    """Each version's tensors are all filled with its number; a mix would show two numbers."""
    target = url(local_cluster, base, "model.pt")

    def version(n: int) -> dict[str, object]:
        return {"step": n, "a": torch.full((300_000,), n), "b": torch.full((200_000,), -n)}

    checkpoint.save(target, version(0))
    saved, seen, failures = threading.Event(), [], []

    def writer() -> None:
        try:
            for n in range(1, VERSIONS + 1):
                checkpoint.save(target, version(n))
        except BaseException as exc:
            failures.append(exc)
        finally:
            saved.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(1000):  # bounded; ends when the writer has saved every version
            state = checkpoint.load(target)
            n = state["step"]
            assert torch.equal(state["a"], torch.full((300_000,), n)), n
            assert torch.equal(state["b"], torch.full((200_000,), -n)), n
            seen.append(n)
            if saved.is_set():
                break
    finally:
        thread.join()
    assert not failures, failures
    assert seen == sorted(seen) and len(set(seen)) > 1  # reads interleaved with renames
    assert checkpoint.load(target)["step"] == VERSIONS
    assert fs.ls(base, detail=False) == [f"{base}/model.pt"]


def test_dcp_round_trip(
    local_cluster: LocalCluster, fs: FlyfsFileSystem, base: str, corpus: Corpus
) -> None:
    learner = trained(corpus, seed=3, steps=3)
    target = url(local_cluster, base, "dcp")
    learner.save_dcp(target)
    assert fs.exists(f"{base}/dcp/.metadata")
    fresh = trained(corpus, seed=4, steps=1)  # other weights, other moments, another step
    fresh.load_dcp(target)
    assert_same(fresh, learner)
    window = torch.frombuffer(bytearray(corpus.tokens[100 : 100 + 66]), dtype=torch.uint8)
    assert fresh.train_step(window.view(2, 33)) == learner.train_step(window.view(2, 33))
