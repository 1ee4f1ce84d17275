"""Run as a script by test_dataset.py: a DataLoader with two forked workers over flyfs.

    python loader_worker.py CORPUS_URL SEQ_LEN SEED BATCHES

Prints JSON lines: `{"fork_support"}` first, then per batch its shape,
dtype and the SHA-256 of its bytes, and last `{"parent_reads"}`: whether
this process still reads after its workers are gone.  `flyfs.trainer`
comes first, as in a training job, so gRPC's fork support is on.
"""

from __future__ import annotations

import hashlib
import json
import sys

from flyfs.trainer.dataset import TokenWindows, batch_loader


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main(url: str, seq_len: str, seed: str, batches: str) -> None:
    from grpc._cython import cygrpc

    dataset = TokenWindows(url, int(seq_len))
    dataset.fs.ls("/")  # connections open in this process when the workers fork
    say(fork_support=cygrpc.is_fork_support_enabled())
    for batch in batch_loader(dataset, 16, int(seed), 0, int(batches), workers=2):
        digest = hashlib.sha256(bytes(batch.flatten().tolist())).hexdigest()
        say(shape=list(batch.shape), dtype=str(batch.dtype), sha256=digest)
    say(parent_reads=len(bytes(dataset[0])) == int(seq_len) + 1)


if __name__ == "__main__":
    main(*sys.argv[1:])
