"""Run as a script by test_resume.py: a training job that a test can SIGKILL and resume.

    python train_worker.py DATA_URL CHECKPOINT_URL (--until STEP | --resume --more N) [--every K]

One JSON line per event on stdout, flushed at once: `{"step", "loss"}` per
step (the loss as `float.hex`, so equality is bit equality), `{"saved"}`
after each checkpoint, `{"resumed"}` after a restore, and at the end
`{"params"}`, the SHA-256 of every parameter's bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct

from flyfs.trainer import checkpoint
from flyfs.trainer.train import Learner, StepRecord, TrainConfig, train


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("checkpoint")
    parser.add_argument("--until", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--more", type=int)
    parser.add_argument("--every", type=int, default=0)
    args = parser.parse_args()
    learner = Learner(TrainConfig(data=args.data, batch_size=4, seq_len=64, seed=11, workers=2))
    until = args.until
    if args.resume:
        learner.restore(checkpoint.load(args.checkpoint))
        say(resumed=learner.step)
        until = learner.step + args.more

    def on_step(record: StepRecord) -> None:
        say(step=record.step, loss=record.loss.hex())
        if args.every and record.step % args.every == 0:
            checkpoint.save(args.checkpoint, learner.state())
            say(saved=record.step)

    train(learner, until, on_step=on_step)
    digest = hashlib.sha256()
    for tensor in learner.model.state_dict().values():  # float32 round-trips through float
        values = tensor.flatten().tolist()
        digest.update(struct.pack(f"<{len(values)}f", *values))
    say(params=digest.hexdigest())


if __name__ == "__main__":
    main()
