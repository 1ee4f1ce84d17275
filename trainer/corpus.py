"""The training corpus: text that ships with CPython, as byte tokens in shards on any fsspec URL.

No downloads: the `pydoc_data` topics (the help texts of the language
reference) and the standard library's `.py` sources on this machine, in a
fixed order, cut at `max_bytes`.  A token is a byte, so a shard is the raw
bytes (uint8) and needs no tokenizer.  The corpus is a directory::

    shard-000.bin ... shard-007.bin   the token stream, cut into nearly equal parts
    index.json                        {"format", "dtype", "vocab", "tokens", "shards": [...]}

`index.json` is written last, so a directory with an index holds every
shard it names.  The same writer and reader serve a local path,
`memory://` and `flyfs://`, so training from each is a fair comparison.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import posixpath
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

INDEX = "index.json"
FORMAT = 1
SEPARATOR = b"\n\n"  # between documents


@dataclass(frozen=True)
class Shard:
    path: str  # relative to the corpus directory
    tokens: int
    sha256: str


@dataclass(frozen=True)
class CorpusIndex:
    shards: tuple[Shard, ...]
    documents: int

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    def to_json(self) -> bytes:
        record = {
            "format": FORMAT,
            "dtype": "uint8",
            "vocab": 256,
            "tokens": self.tokens,
            "documents": self.documents,
            "shards": [vars(s) for s in self.shards],
        }
        return json.dumps(record, indent=1).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> CorpusIndex:
        record: dict[str, Any] = json.loads(raw)
        if record.get("format") != FORMAT or record.get("dtype") != "uint8":
            raise ValueError(f"not a flyfs byte corpus index (format {record.get('format')})")
        return cls(tuple(Shard(**s) for s in record["shards"]), record["documents"])


def documents() -> Iterator[bytes]:
    """CPython's own text: the pydoc topics, then the stdlib sources by path (site-packages out)."""
    from pydoc_data.topics import topics

    for name in sorted(topics):
        yield topics[name].encode()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        if "site-packages" not in path.relative_to(stdlib).parts:
            yield path.read_bytes()


def build_tokens(max_bytes: int) -> tuple[bytes, int]:
    """The token stream (at most `max_bytes`) and how many documents went into it."""
    parts, size = [], 0
    for doc in documents():
        if size >= max_bytes:
            break
        parts.append(doc[: max_bytes - size])
        size += len(parts[-1]) + len(SEPARATOR)
    return SEPARATOR.join(parts)[:max_bytes], len(parts)


def write_corpus(
    url: str,
    tokens: bytes,
    documents: int,
    shards: int = 8,
    storage_options: dict[str, Any] | None = None,
) -> CorpusIndex:
    """Cut `tokens` into `shards` nearly equal files under `url`, then write the index.

    `storage_options` go to the filesystem (e.g. flyfs's `chunk_size`).
    """
    fs, root = url_to_fs(url, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    bounds = [len(tokens) * i // shards for i in range(shards + 1)]
    written = []
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        piece = tokens[start:end]
        name = f"shard-{i:03d}.bin"
        fs.pipe_file(posixpath.join(root, name), piece)
        written.append(Shard(name, len(piece), hashlib.sha256(piece).hexdigest()))
    index = CorpusIndex(tuple(written), documents)
    fs.pipe_file(posixpath.join(root, INDEX), index.to_json())
    return index


def read_index(
    url: str, storage_options: dict[str, Any] | None = None
) -> tuple[AbstractFileSystem, str, CorpusIndex]:
    """The corpus at `url`: its filesystem, its directory on it, and its index."""
    fs, root = url_to_fs(url, **(storage_options or {}))
    return fs, root, CorpusIndex.from_json(fs.cat_file(posixpath.join(root, INDEX)))
