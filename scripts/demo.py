"""`make demo`: start a local flyfs cluster, move data through it, train a model on it, stop it.

Read this file to see how flyfs is used.  It runs four parts against a
cluster in a fresh temporary directory:

1. `flyfs cluster up --dir D`: mgmtd, meta and three storage nodes on
   127.0.0.1, chains of three replicas.
2. fsspec: write files with `fs.open(path, "wb")`, read them back through
   `fsspec.open("flyfs://HOST:PORT/path")`, check every byte, print MiB/s.
3. The CLI: `flyfs put -r`, `ls -l`, `cat`, `get -r`, `du`, `df`, timed.
4. Failover: `flyfs cluster kill 2` crashes a storage node (SIGKILL);
   the files written in part 2 still read back whole from the other
   replicas; `flyfs cluster start 2` brings it back, and its targets
   resync before they serve again (`flyfs cluster status`).
5. The workload (`flyfs.trainer`): `flyfs trainer prepare` writes a byte
   corpus of CPython's own text into flyfs; a 1 M-parameter transformer
   trains from it through a DataLoader with two workers (loss and data
   stall on a progress bar); its checkpoint goes to flyfs (`torch.save`
   renamed into place, and DCP), is loaded back into a fresh model that
   continues from a local copy of the corpus (`file://`, the stall
   baseline), and the model writes a few lines.
6. The KV-cache store: prompts sharing a 2,048-token prefix; the first
   spills the prefix's attention K/V to flyfs, the others load it
   instead of recomputing it (time to first token against recompute).
A table sums it up.

The cluster is stopped and its directory deleted at the end, also after a
failure, Ctrl-C or SIGTERM.  `--megabytes` scales the data of parts 2 and
3 (default 128 through fsspec, half that through the CLI), `--steps` the
training (default 200, then a quarter more after the resume).
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyfs.trainer.train import RunStats as TrainStats

MiB = 1024 * 1024
FILE_MiB = 16  # each demo file; several files show the client's parallel chunk I/O
FLYFS = Path(sys.executable).with_name("flyfs")  # the console script of this venv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=128, help="through fsspec (default 128)")
    parser.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up as Ctrl-C does
    directory = Path(tempfile.mkdtemp(prefix="flyfs-demo-"))
    cluster_file = directory / "cluster.json"
    os.environ["FLYFS_CLUSTER"] = str(cluster_file)  # the default cluster of every command below
    started = time.monotonic()
    try:
        flyfs("cluster", "up", "--dir", str(directory))
        through_fsspec(cluster_file, max(1, args.megabytes // FILE_MiB))
        through_the_cli(directory / "local", max(1, args.megabytes // (2 * FILE_MiB)))
        summary = [failover(directory, max(1, args.megabytes // FILE_MiB))]
        summary += the_workload(directory / "local", args.steps)
    except subprocess.CalledProcessError as exc:
        print(f"demo failed: `{' '.join(exc.cmd)}` exited {exc.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130
    finally:
        flyfs("cluster", "down", "--dir", str(directory), "--wipe", check=False)
        shutil.rmtree(directory, ignore_errors=True)
    from flyfs.cli.columns import print_table

    heading("summary")
    print_table(("STEP", "WHERE", "RESULT", "TIME"), summary)
    print(f"\ndemo done in {time.monotonic() - started:.1f} s")
    return 0


def through_fsspec(cluster_file: Path, files: int) -> None:
    """Write `files` files through fsspec, read them back by URL, and check them."""
    import fsspec

    heading(f"fsspec: {files} files of {FILE_MiB} MiB")
    # The first flyfs import of this process, before anything imports grpc: flyfs.client
    # turns gRPC's fork support on, which the trainer's DataLoader workers need later.
    fs = fsspec.filesystem("flyfs", cluster=str(cluster_file))
    from flyfs.cluster_file import load_cluster_file

    mgmtd = load_cluster_file(cluster_file).mgmtd  # the cluster's name in URLs
    payloads = [random_bytes(FILE_MiB * MiB, seed=i) for i in range(files)]
    digests = [hashlib.sha256(p).hexdigest() for p in payloads]

    started = time.monotonic()
    for i, payload in enumerate(payloads):
        with fs.open(f"/demo/fsspec/part-{i:03d}.bin", "wb") as f:
            f.write(payload)
    report("fsspec write", files * FILE_MiB, time.monotonic() - started)

    read_s = 0.0  # the reads' time, not the checksums'
    for i, digest in enumerate(digests):
        started = time.monotonic()
        with fsspec.open(f"flyfs://{mgmtd}/demo/fsspec/part-{i:03d}.bin", "rb") as f:
            data = f.read()
        read_s += time.monotonic() - started
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"demo failed: part-{i:03d}.bin read back different bytes")
    report("fsspec read ", files * FILE_MiB, read_s)
    print(f"fs.ls('/demo/fsspec') has {len(fs.ls('/demo/fsspec'))} entries; all bytes checked")


def through_the_cli(local: Path, files: int) -> None:
    """A local dataset directory up with `flyfs put -r` and back with `flyfs get -r`."""
    heading(f"the CLI: a dataset directory of {files} files of {FILE_MiB} MiB")
    dataset = local / "dataset"
    dataset.mkdir(parents=True)
    (dataset / "README.txt").write_text("hello from flyfs\n")
    for i in range(files):
        (dataset / f"shard-{i:03d}.bin").write_bytes(random_bytes(FILE_MiB * MiB, seed=100 + i))

    started = time.monotonic()
    flyfs("put", "-r", str(dataset), "/demo/cli/dataset")
    report("flyfs put", files * FILE_MiB, time.monotonic() - started)
    flyfs("ls", "-l", "/demo/cli/dataset")
    flyfs("cat", "/demo/cli/dataset/README.txt")

    started = time.monotonic()
    flyfs("get", "-r", "/demo/cli/dataset", str(local / "back"))
    report("flyfs get", files * FILE_MiB, time.monotonic() - started)
    same = filecmp.dircmp(dataset, local / "back")
    if same.diff_files or same.left_only or same.right_only:
        raise SystemExit(f"demo failed: the dataset came back different: {same.diff_files}")
    print("every file came back identical")
    flyfs("du", "-c", "/demo/fsspec", "/demo/cli")
    flyfs("df")


def failover(directory: Path, files: int) -> tuple[str, ...]:
    """Crash a storage node, read every fsspec file back, start it, wait for its resync."""
    import fsspec

    heading("failover: crash storage-2, read everything back, start it again")
    started = time.monotonic()
    flyfs("cluster", "kill", "2", "--dir", str(directory))
    fs = fsspec.filesystem("flyfs")
    for i in range(files):  # reads move to another replica at once
        data = fs.cat_file(f"/demo/fsspec/part-{i:03d}.bin")
        if data != random_bytes(FILE_MiB * MiB, seed=i):
            raise SystemExit(f"demo failed: part-{i:03d}.bin read back different bytes")
    print(f"{files} files read back whole with storage-2 down")
    flyfs("cluster", "start", "2", "--dir", str(directory))
    deadline = time.monotonic() + 120
    while flyfs("cluster", "status", "--dir", str(directory), check=False, quiet=True):
        if time.monotonic() > deadline:  # bounded: WAITING, SYNCING, SERVING
            raise SystemExit("demo failed: storage-2's targets did not serve again in 120 s")
        time.sleep(0.5)
    flyfs("cluster", "status", "--dir", str(directory))
    return (
        "failover",
        "flyfs",
        f"storage-2 killed: {files} files read whole; restarted and resynced",
        seconds(started),
    )


def the_workload(local: Path, steps: int) -> list[tuple[str, ...]]:
    """Corpus → training from flyfs → checkpoint → resume → text; the summary table's rows."""
    from flyfs.trainer import checkpoint
    from flyfs.trainer.corpus import read_index
    from flyfs.trainer.generate import generate
    from flyfs.trainer.train import Learner, TrainConfig, train

    rows = []
    heading("the workload: a byte-level language model trained from flyfs")
    started = time.monotonic()
    flyfs("trainer", "prepare", "--out", "/trainer/corpus")  # CPython's own text, 8 shards
    _, _, index = read_index("flyfs:///trainer/corpus")
    rows.append(
        (
            "corpus",
            "flyfs",
            f"{index.tokens / MiB:.1f} MiB of byte tokens, {len(index.shards)} shards",
            seconds(started),
        )
    )
    flyfs("get", "-r", "/trainer/corpus", str(local / "corpus"))  # the file:// baseline's copy

    heading(f"train {steps} steps from flyfs://, DataLoader with 2 forked workers")
    config = TrainConfig(data="flyfs:///trainer/corpus", workers=2)
    learner = Learner(config)
    print(f"model: {learner.model.parameter_count():,} parameters", flush=True)
    stats = train(learner, steps, progress=True)
    print(stats.summary())
    rows.append(train_row("train", stats))

    heading("checkpoint to flyfs, resume in a fresh model")
    started = time.monotonic()
    size = checkpoint.save("flyfs:///trainer/checkpoint.pt", learner.state())
    learner.save_dcp("flyfs:///trainer/dcp")
    flyfs("ls", "-l", "/trainer", "/trainer/dcp")
    resumed = Learner(config)
    resumed.restore(checkpoint.load("flyfs:///trainer/checkpoint.pt"))
    from_dcp = Learner(config)
    from_dcp.load_dcp("flyfs:///trainer/dcp")
    same = all(
        torch_equal(a, b, c)
        for a, b, c in zip(
            learner.model.parameters(),
            resumed.model.parameters(),
            from_dcp.model.parameters(),
            strict=True,
        )
    )
    if not same or resumed.step != steps or from_dcp.step != steps:
        raise SystemExit("demo failed: a checkpoint came back different")
    print(f"both checkpoints load back step {steps} with identical parameters")
    rows.append(
        (
            "checkpoint",
            "flyfs",
            f"torch.save {size / MiB:.1f} MiB + DCP, saved and loaded back",
            seconds(started),
        )
    )

    more = max(1, steps // 4)
    heading(f"resume: {more} more steps, now reading the local copy (file://, the baseline)")
    local_stats = train(resumed, steps + more, data=f"file://{local / 'corpus'}", progress=True)
    print(local_stats.summary())
    rows.append(train_row("resume + train", local_stats))

    heading("generate")
    started = time.monotonic()
    new = 0
    for seed, prompt in enumerate((b"def ", b"import ", b"The ")):
        text = prompt + generate(resumed.model, prompt, 120, temperature=0.7, seed=seed)
        new += 120
        print(text.decode(errors="replace").rstrip(), end="\n---\n")
    rows.append(("generate", "-", f"{new} bytes sampled with the K/V cache", seconds(started)))
    rows.append(prefix_cache(resumed.model, local / "corpus"))
    return rows


def prefix_cache(model: object, corpus: Path) -> tuple[str, ...]:
    """Prompts sharing a long prefix: its K/V spilled to flyfs once, then reloaded."""
    import torch

    from flyfs.client import KVCacheStore
    from flyfs.trainer.generate import prefill
    from flyfs.trainer.kv_pages import cached_prefill

    heading("KV cache: prompts sharing a 2,048-token prefix, its K/V reloaded from flyfs")
    started = time.monotonic()
    text = (corpus / "shard-000.bin").read_bytes()
    prefix = list(text[:2048])
    store = KVCacheStore("flyfs:///kvcache", "demo-byte-lm", page_tokens=64, layout="slab")
    _, _, first = cached_prefill(model, store, [*prefix, *b"\ndef first():"])
    print(f"first prompt: {first.spilled_pages} pages of K/V spilled to flyfs")
    recompute, cached = [], []
    for question in (b"\ndef second():", b"\nclass Third:", b"\nimport fourth"):
        prompt = [*prefix, *question]
        t0 = time.perf_counter()
        want, _ = prefill(model, torch.tensor([prompt]))
        t1 = time.perf_counter()
        got, _, stats = cached_prefill(model, store, prompt)
        t2 = time.perf_counter()
        if (got[0, -1] - want[0, -1]).abs().max() > 1e-5 or stats.cached_pages != 32:
            raise SystemExit("demo failed: logits from cached K/V differ from recompute")
        recompute.append(t1 - t0)
        cached.append(t2 - t1)
    ms_recompute, ms_cached = 1e3 * min(recompute), 1e3 * min(cached)
    print(
        f"time to first token: {ms_cached:.1f} ms with the prefix loaded from flyfs,"
        f" {ms_recompute:.1f} ms recomputing it ({ms_recompute / ms_cached:.1f}x);"
        " logits equal"
    )
    return (
        "KV cache",
        "flyfs",
        f"2,048-token prefix: TTFT {ms_cached:.0f} ms cached vs {ms_recompute:.0f} ms recompute",
        seconds(started),
    )


def train_row(name: str, stats: TrainStats) -> tuple[str, ...]:
    first, last = stats.records[0], stats.records[-1]
    return (
        name,
        stats.url.split("://")[0],
        f"steps {first.step}-{last.step}: loss {stats.loss_start:.2f} -> {stats.loss_end:.2f},"
        f" {stats.steps_per_s:.1f} steps/s, data stall {100 * stats.stall_fraction:.2f} %",
        f"{stats.seconds:.1f} s",
    )


def torch_equal(*tensors: object) -> bool:
    import torch

    return all(torch.equal(tensors[0], t) for t in tensors[1:])


def seconds(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"


def flyfs(*args: str, check: bool = True, quiet: bool = False) -> int:
    """Run the `flyfs` command as a user would, showing it first (`quiet`: neither the
    command nor its output, for polling); its exit code."""
    if quiet:
        done = subprocess.run([str(FLYFS), *args], check=check, capture_output=True)
        return done.returncode
    print(f"\n$ flyfs {' '.join(args)}", flush=True)
    return subprocess.run([str(FLYFS), *args], check=check).returncode


def random_bytes(size: int, seed: int) -> bytes:
    """Incompressible, reproducible bytes: SHAKE-256 of the seed."""
    return hashlib.shake_256(seed.to_bytes(8, "little")).digest(size)


def report(what: str, mib: int, seconds: float) -> None:
    print(f"{what}: {mib} MiB in {seconds:.2f} s = {mib / seconds:.1f} MiB/s", flush=True)


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
