"""`flyfs trainer prepare|train|generate`, also `python -m flyfs.trainer`: arguments and runs.

The `flyfs` CLI (`flyfs.cli.trainer`) and `python -m flyfs.trainer` both
use this module, so the two spell every option alike.  torch is imported
only when a command runs.  Locations are read as every `flyfs` command
reads paths: `/path` is on the default cluster (`FLYFS_CLUSTER`, else
`$FLYFS_HOME/cluster.json`), `flyfs://HOST:PORT/path` on a named one; any
other fsspec URL works too (`file:///local/dir`, `memory://x`).
"""

from __future__ import annotations

import argparse
import sys
import time

from flyfs.arguments import positive_int, whole_number

MiB = 1 << 20
DEFAULT_CORPUS = "/trainer/corpus"
DEFAULT_CHECKPOINT = "/trainer/checkpoint.pt"


def location(text: str) -> str:
    """argparse type: an fsspec URL; an absolute path means the default flyfs cluster."""
    if "://" in text:
        return text
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use /path (the default cluster), flyfs://HOST:PORT/path or file:///path"
        )
    return f"flyfs://{text}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="trainer_command", metavar="TRAINER_COMMAND", required=True)
    prepare = sub.add_parser("prepare", help="build the byte-token corpus from CPython's own text")
    prepare.add_argument(
        "--out", type=location, default=DEFAULT_CORPUS, help=f"(default {DEFAULT_CORPUS})"
    )
    prepare.add_argument("--megabytes", type=positive_int, default=16, help="(default 16)")
    prepare.add_argument("--shards", type=positive_int, default=8, help="(default 8)")

    train = sub.add_parser("train", help="train the byte transformer on the corpus")
    train.add_argument(
        "--data", type=location, default=DEFAULT_CORPUS, help=f"(default {DEFAULT_CORPUS})"
    )
    train.add_argument("--steps", type=positive_int, default=200, help="train up to this step")
    train.add_argument("--batch-size", type=positive_int, default=16, help="(default 16)")
    train.add_argument("--seq-len", type=positive_int, default=128, help="(default 128)")
    train.add_argument("--lr", type=float, default=3e-3, help="(default 0.003)")
    train.add_argument("--seed", type=int, default=0, help="(default 0)")
    train.add_argument(
        "--workers", type=whole_number, default=2, help="DataLoader workers (default 2)"
    )
    train.add_argument(
        "--checkpoint",
        type=location,
        default=DEFAULT_CHECKPOINT,
        help=f"(default {DEFAULT_CHECKPOINT})",
    )
    train.add_argument(
        "--checkpoint-every", type=positive_int, help="steps between saves (default: at the end)"
    )
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    train.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )

    generate = sub.add_parser("generate", help="sample text from a checkpoint")
    generate.add_argument(
        "--checkpoint",
        type=location,
        default=DEFAULT_CHECKPOINT,
        help=f"(default {DEFAULT_CHECKPOINT})",
    )
    generate.add_argument("--prompt", default="def ", help="(default 'def ')")
    generate.add_argument("--tokens", type=positive_int, default=200, help="bytes to generate")
    generate.add_argument("--temperature", type=float, default=0.8, help="(default 0.8)")
    generate.add_argument("--seed", type=int, default=0, help="(default 0)")


def run(args: argparse.Namespace) -> int:
    commands = {"prepare": prepare, "train": train, "generate": generate}
    return commands[args.trainer_command](args)


def prepare(args: argparse.Namespace) -> int:
    from flyfs.trainer.corpus import build_tokens, write_corpus

    started = time.monotonic()
    tokens, documents = build_tokens(args.megabytes * MiB)
    index = write_corpus(args.out, tokens, documents, args.shards)
    print(
        f"corpus: {index.tokens:,} tokens ({index.tokens / MiB:.1f} MiB, uint8) from"
        f" {documents:,} documents in {len(index.shards)} shards at {args.out}"
        f" ({time.monotonic() - started:.1f} s)"
    )
    return 0


def train(args: argparse.Namespace) -> int:
    from flyfs.trainer import checkpoint
    from flyfs.trainer.train import Learner, StepRecord, TrainConfig
    from flyfs.trainer.train import train as train_steps

    config = TrainConfig(
        data=args.data,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        lr=args.lr,
        seed=args.seed,
        workers=args.workers,
    )
    learner = Learner(config)
    if args.resume:
        learner.restore(checkpoint.load(args.checkpoint))
        print(f"resumed at step {learner.step} from {args.checkpoint}", flush=True)

    def save() -> None:
        started = time.monotonic()
        size = checkpoint.save(args.checkpoint, learner.state())
        took = time.monotonic() - started
        print(f"saved step {learner.step} to {args.checkpoint}: {size / MiB:.1f} MiB, {took:.2f} s")

    def on_step(record: StepRecord) -> None:
        if args.checkpoint_every and record.step % args.checkpoint_every == 0:
            save()

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    stats = train_steps(learner, args.steps, on_step=on_step, progress=progress)
    print(stats.summary())
    if not args.checkpoint_every or learner.step % args.checkpoint_every:
        save()
    return 0


def generate(args: argparse.Namespace) -> int:
    from flyfs.trainer import checkpoint
    from flyfs.trainer.generate import generate as sample
    from flyfs.trainer.train import model_from_state

    model = model_from_state(checkpoint.load(args.checkpoint))
    prompt = args.prompt.encode()
    text = prompt + sample(model, prompt, args.tokens, args.temperature, args.seed)
    print(text.decode(errors="replace"))
    return 0
