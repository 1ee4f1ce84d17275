"""The training loop, its state, and the data-stall figure.

A step is: wait for the next batch from the DataLoader (the *stall*: time
the model would sit idle on a GPU), then forward, backward and an AdamW
update (the *compute*).  The stall fraction is wait / (wait + compute)
over the steps after the first; the first batch also pays for forking the
workers and is reported on its own (`first_wait_s`).

:class:`Learner` is everything a resumed run needs to continue bit for bit:
parameters, optimizer moments, the step counter and the RNG state.  Batches
are fixed by (seed, step) (`dataset.SeededBatches`) and the learning rate
by the step alone, so a run resumed from a checkpoint at step `s` computes
step `s + 1` exactly as the uninterrupted run did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from flyfs.trainer import checkpoint
from flyfs.trainer.dataset import TokenWindows, batch_loader
from flyfs.trainer.model import ByteTransformer, ModelConfig, next_token_loss

CHECKPOINT_FORMAT = 1
LOSS_WINDOW = 10  # steps averaged for the start and end loss of a run


@dataclass(frozen=True)
class TrainConfig:
    data: str  # the corpus's fsspec URL
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    warmup_steps: int = 20
    weight_decay: float = 0.01
    seed: int = 0
    workers: int = 2
    model: ModelConfig = field(default_factory=ModelConfig)

    def lr_at(self, step: int) -> float:
        """Linear warmup to `lr`, then constant: a function of the step alone."""
        return self.lr * min(1.0, step / max(1, self.warmup_steps))


class Learner:
    """Model, optimizer and the number of steps taken so far."""

    def __init__(self, config: TrainConfig) -> None:
        torch.manual_seed(config.seed)  # the process's RNG: the model's initial weights
        self.config = config
        self.model = ByteTransformer(config.model)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.step = 0

    def train_step(self, batch: torch.Tensor) -> float:
        """One update on `batch` [batch, seq_len + 1]; the loss before it."""
        self.step += 1
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr_at(self.step)
        self.model.train()
        loss = next_token_loss(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def state(self) -> dict[str, Any]:
        """What `checkpoint.save` stores: plain tensors and numbers, loadable with weights_only."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model_config": self.config.model.as_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "rng": torch.get_rng_state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a flyfs trainer checkpoint (format {state.get('format')})")
        if state["model_config"] != self.config.model.as_dict():
            raise ValueError(f"checkpoint of another model: {state['model_config']}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = state["step"]
        torch.set_rng_state(state["rng"])

    def save_dcp(self, url: str) -> None:
        """The same state as a `torch.distributed.checkpoint` directory (tensors by name)."""
        model, optimizer = get_state_dict(self.model, self.optimizer)
        checkpoint.dcp_save(url, self._dcp_state(model, optimizer))

    def load_dcp(self, url: str) -> None:
        """Restore what :meth:`save_dcp` wrote: DCP loads into this learner's own tensors."""
        model, optimizer = get_state_dict(self.model, self.optimizer)
        state = self._dcp_state(model, optimizer)
        checkpoint.dcp_load(url, state)
        set_state_dict(
            self.model, self.optimizer, model_state_dict=model, optim_state_dict=optimizer
        )
        self.step = state["step"]
        torch.set_rng_state(state["rng"])

    def _dcp_state(self, model: dict[str, Any], optimizer: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": model,
            "optimizer": optimizer,
            "step": self.step,
            "rng": torch.get_rng_state(),
        }


@dataclass(frozen=True)
class StepRecord:
    step: int
    loss: float
    wait_s: float  # waiting for the batch
    compute_s: float  # forward, backward, update


@dataclass
class RunStats:
    """One `train` call's steps; figures leave out the first step's wait (worker start-up)."""

    url: str
    records: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steady(self) -> list[StepRecord]:
        return self.records[1:]

    @property
    def stall_fraction(self) -> float:
        wait = sum(r.wait_s for r in self.steady)
        busy = wait + sum(r.compute_s for r in self.steady)
        return wait / busy if busy else 0.0

    @property
    def first_wait_s(self) -> float:
        return self.records[0].wait_s if self.records else 0.0

    @property
    def loss_start(self) -> float:
        """Mean loss of the first few steps: one batch's loss is noisy."""
        head = self.records[:LOSS_WINDOW]
        return sum(r.loss for r in head) / len(head) if head else float("nan")

    @property
    def loss_end(self) -> float:
        tail = self.records[-LOSS_WINDOW:]
        return sum(r.loss for r in tail) / len(tail) if tail else float("nan")

    @property
    def steps_per_s(self) -> float:
        return len(self.records) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if not self.records:
            return f"{self.url}: no steps"
        first, last = self.records[0], self.records[-1]
        return (
            f"{self.url}: steps {first.step}-{last.step}, loss {self.loss_start:.3f} ->"
            f" {self.loss_end:.3f} (means of {LOSS_WINDOW} steps),"
            f" {self.steps_per_s:.1f} steps/s, data stall {100 * self.stall_fraction:.2f} %"
            f" (first batch {self.first_wait_s:.2f} s)"
        )


def train(
    learner: Learner,
    until_step: int,
    data: str | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    progress: bool = False,
) -> RunStats:
    """Train `learner` up to step `until_step`, reading batches from `data` (default: its config's).

    `on_step` runs after each step (checkpointing, logging); its time counts
    neither as stall nor as compute.  `progress` draws a tqdm bar on stderr
    with the loss and the stall so far.
    """
    from tqdm import tqdm

    url = data or learner.config.data
    config = learner.config
    dataset = TokenWindows(url, config.seq_len)
    loader = batch_loader(
        dataset, config.batch_size, config.seed, learner.step, until_step, config.workers
    )
    stats = RunStats(url)
    bar = tqdm(total=len(loader.batch_sampler), desc="train", unit="step", disable=not progress)
    started = time.perf_counter()
    try:
        asked = started
        for batch in loader:  # exhausting the loader stops its workers
            got = time.perf_counter()
            loss = learner.train_step(batch)
            record = StepRecord(learner.step, loss, got - asked, time.perf_counter() - got)
            stats.records.append(record)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", stall=f"{100 * stats.stall_fraction:.1f}%")
            if on_step is not None:
                on_step(record)
            asked = time.perf_counter()
    finally:
        bar.close()
        stats.seconds = time.perf_counter() - started
    return stats


def model_from_state(state: dict[str, Any]) -> ByteTransformer:
    """The model a checkpoint holds, built from its own config, in eval mode."""
    model = ByteTransformer(ModelConfig(**state["model_config"]))
    model.load_state_dict(state["model"])
    return model.eval()
