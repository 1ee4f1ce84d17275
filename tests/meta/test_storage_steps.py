"""Truncate, close, sync and session pruning when meta has storage, in one process.

The service runs over a real KV with `FileChunks` on fake chains, so what
reaches storage, and when, is visible; the cluster tests run the same paths
against real storage nodes.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from storage_fakes import FakeChains, write_file

from flyfs.kv import KvConfig, open_database
from flyfs.layout import StaticChainTable, parse_chunk_id
from flyfs.meta import schema
from flyfs.meta.config import MetaConfig
from flyfs.meta.file_chunks import FileChunks
from flyfs.meta.lengths import Measured, NeedsLength, settle_length
from flyfs.meta.ops import truncate
from flyfs.meta.server import ensure_root, make_context
from flyfs.meta.service import MetaService
from flyfs.meta.sessions import SessionPruner
from flyfs.proto import meta_pb2
from flyfs.request_tags import RequestTagger

CS = 64 << 10


class Env:
    def __init__(self, tmp_path):
        self.db = open_database(KvConfig(sqlite_path=str(tmp_path / "kv.db")))
        self.db.run(ensure_root)
        self.storage = FakeChains()
        self.chunks = FileChunks(StaticChainTable([1, 2, 3]), self.storage)
        config = MetaConfig(chunk_size=CS, session_lease_s=30, session_prune_margin_s=5)
        self.ctx = make_context(config, self.db, chunks=self.chunks)
        self.service = MetaService(self.db, self.ctx)
        self.tagger = RequestTagger()

    def call(self, method: str, request, tag=None):
        """The handler without its gRPC wrapper: errors raise as they are."""
        if "tag" in request.DESCRIPTOR.fields_by_name and not request.HasField("tag"):
            request.tag.CopyFrom(tag or self.tagger.tag())
        handler = getattr(MetaService, method).__wrapped__
        return asyncio.run(handler(self.service, request, None))

    def open(self, path: str) -> meta_pb2.OpenResponse:
        mode = meta_pb2.OPEN_MODE_UPDATE
        return self.call("Open", meta_pb2.OpenRequest(path=path, open_mode=mode, create=True))

    def truncate(self, path: str, length: int, tag=None) -> meta_pb2.Inode:
        request = meta_pb2.TruncateRequest(ref=meta_pb2.InodeRef(path=path), length=length)
        return self.call("Truncate", request, tag).inode

    def held(self, inode_id: int) -> list[tuple[int, int]]:
        """(chunk index, length) of the inode's chunks on the fake chains."""
        return sorted(
            (parse_chunk_id(c).index, n)
            for chain in self.storage.chunks.values()
            for c, n in chain.items()
            if parse_chunk_id(c).inode == inode_id
        )


@pytest.fixture
def env(tmp_path):
    env = Env(tmp_path)
    yield env
    env.db.close()


def test_truncate_cuts_storage_before_it_answers(env):
    opened = env.open("/f")
    write_file(env.storage, env.chunks, opened.inode, 5 * CS)
    inode = env.truncate("/f", CS + 3)
    assert (inode.size, inode.truncate_count) == (CS + 3, 1)
    assert env.held(inode.id) == [(0, CS), (1, 3)]


def test_truncate_up_reads_zeros_past_the_old_end(env):
    opened = env.open("/f")
    write_file(env.storage, env.chunks, opened.inode, CS + 10)
    env.truncate("/f", 5)
    inode = env.truncate("/f", 3 * CS + 1)
    assert inode.size == 3 * CS + 1
    # Chunk 1's old bytes are gone; the new last chunk exists, so storage's
    # length agrees with meta's.
    assert env.held(inode.id) == [(0, 5), (3, 1)]


def test_a_retried_truncate_does_not_cut_again(env):
    opened = env.open("/f")
    tag = env.tagger.tag()
    first = env.truncate("/f", 0, tag)
    write_file(env.storage, env.chunks, opened.inode, 2 * CS)  # written after the answer
    retry = env.truncate("/f", 0, RequestTagger.retry_of(tag))
    assert retry == first
    assert env.held(opened.inode.id) == [(0, CS), (1, CS)]


def test_truncate_body_refuses_an_inode_it_did_not_cut(env):
    env.open("/f")
    request = meta_pb2.TruncateRequest(ref=meta_pb2.InodeRef(path="/f"), length=0)
    other = meta_pb2.Inode(id=999_999)
    for cut in (None, other):
        with pytest.raises(truncate.NotCut):
            env.db.run(lambda tr, c=cut: truncate.run(env.ctx, tr, request, c))


def test_close_after_a_truncate_takes_the_length_from_storage(env):
    opened = env.open("/f")
    inode_id, session = opened.inode.id, opened.session_id
    write_file(env.storage, env.chunks, opened.inode, 3 * CS)
    sync = meta_pb2.SyncRequest(inode_id=inode_id, session_id=session, length_hint=3 * CS)
    assert env.call("Sync", sync).inode.size == 3 * CS
    env.truncate("/f", CS)  # another client cuts the file under the writer
    write_file(env.storage, env.chunks, opened.inode, 10)  # the writer rewrites its start
    close = meta_pb2.CloseRequest(inode_id=inode_id, session_id=session, length_hint=3 * CS)
    assert env.call("Close", close).inode.size == CS  # not the stale hint


def test_close_without_a_truncate_trusts_the_hint(env):
    opened = env.open("/f")
    close = meta_pb2.CloseRequest(
        inode_id=opened.inode.id, session_id=opened.session_id, length_hint=12345
    )
    assert env.call("Close", close).inode.size == 12345
    assert env.storage.calls == []  # no storage round trip on the common path


def test_a_pruned_writer_keeps_what_it_wrote_but_never_reported(env):
    opened = env.open("/f")
    write_file(env.storage, env.chunks, opened.inode, 2 * CS + 7)
    later_ms = int(time.time() * 1000) + 60_000
    assert asyncio.run(SessionPruner(env.db, env.ctx).run_once(later_ms)) == 1
    inode = env.db.read(lambda tr: schema.get_inode(tr, opened.inode.id))
    assert inode.size == 2 * CS + 7


@pytest.mark.parametrize(
    ("size", "count", "session_count", "hint", "measured", "can", "want"),
    [
        (10, 0, 0, 20, None, True, 20),  # no truncate: the largest hint
        (30, 0, 0, 20, None, True, 30),  # a smaller hint never shrinks the file
        (10, 0, 0, 20, Measured(25, 0), True, 25),  # storage knows more (pruning)
        (10, 1, 0, 20, Measured(5, 1), True, 5),  # truncated since open: storage wins
        (10, 2, 0, 20, Measured(5, 1), False, 20),  # stale measurement, standalone: hint
        (10, 1, 0, 20, None, False, 20),  # standalone: the hint is all there is
    ],
)
def test_settle_length(size, count, session_count, hint, measured, can, want):
    inode = meta_pb2.Inode(size=size, truncate_count=count)
    settle_length(inode, session_count, hint, measured, can_measure=can)
    assert inode.size == want


def test_settle_length_asks_for_a_fresh_measurement():
    inode = meta_pb2.Inode(size=10, truncate_count=2)
    with pytest.raises(NeedsLength):
        settle_length(inode, 0, 20, Measured(5, 1), can_measure=True)
