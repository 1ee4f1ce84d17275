"""`flyfs trainer prepare|train|generate` end to end on `memory://`, and how locations are read."""

from __future__ import annotations

import argparse
import uuid

import pytest

from flyfs.cli.main import main
from flyfs.trainer import checkpoint
from flyfs.trainer.commands import location
from flyfs.trainer.corpus import read_index


def test_locations_read_as_the_file_commands_read_paths() -> None:
    assert location("/trainer/corpus") == "flyfs:///trainer/corpus"
    assert location("flyfs://127.0.0.1:7000/c") == "flyfs://127.0.0.1:7000/c"
    assert location("file:///tmp/c") == "file:///tmp/c"
    with pytest.raises(argparse.ArgumentTypeError, match="file:///path"):
        location("corpus")


def test_prepare_train_resume_generate(capsys: pytest.CaptureFixture[str]) -> None:
    root = f"memory://trainer-{uuid.uuid4().hex[:8]}"
    corpus, saved = f"{root}/corpus", f"{root}/model.pt"
    assert main(["trainer", "prepare", "--out", corpus, "--megabytes", "1", "--shards", "3"]) == 0
    _, _, index = read_index(corpus)
    assert len(index.shards) == 3 and index.tokens == 1 << 20
    small = ["--data", corpus, "--checkpoint", saved, "--batch-size", "2", "--seq-len", "16"]
    small += ["--workers", "0", "--no-progress"]
    assert main(["trainer", "train", "--steps", "3", "--checkpoint-every", "2", *small]) == 0
    assert checkpoint.load(saved)["step"] == 3
    assert main(["trainer", "train", "--steps", "5", "--resume", *small]) == 0
    assert checkpoint.load(saved)["step"] == 5
    assert (
        main(["trainer", "generate", "--checkpoint", saved, "--prompt", "def f", "--tokens", "7"])
        == 0
    )
    out = capsys.readouterr().out
    assert "saved step 2" in out and "saved step 3" in out and "resumed at step 3" in out
    assert "steps 4-5" in out
    generated = out[out.index("saved step 5") :].split("\n", 1)[1]  # after train's last line
    assert generated.startswith("def f") and len(generated.encode()) >= len("def f") + 7
