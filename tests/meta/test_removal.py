"""The removal queue and its consumer, in one process over a real KV (a unit test).

The remover is a recording stand-in; `test_file_chunks` covers what the
real one sends to storage, and the cluster tests run it end to end.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from flyfs.errors import Code, error
from flyfs.kv import KvConfig, open_database
from flyfs.meta import schema
from flyfs.meta.config import MetaConfig
from flyfs.meta.idempotency import IdempotencyCollector, apply_once
from flyfs.meta.ops import close, create, open_session, unlink
from flyfs.meta.removal import RemovalCollector
from flyfs.meta.server import ensure_root, make_context
from flyfs.proto import meta_pb2
from flyfs.request_tags import RequestTagger


class RecordingRemover:
    def __init__(self):
        self.removed: list[meta_pb2.RemovalRecord] = []

    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        self.removed.append(record)


class FailingRemover:
    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        raise error(Code.TARGET_NOT_SERVING, "storage is away")


def collect(collector, now: int) -> int:
    return asyncio.run(collector.run_once(now))


@pytest.fixture
def env(tmp_path):
    config = MetaConfig(chains=[1, 2, 3], gc_delay_s=60)
    db = open_database(KvConfig(sqlite_path=str(tmp_path / "kv.db")))
    db.run(ensure_root)
    yield db, make_context(config, db)
    db.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def test_unlinked_file_is_collected_after_its_delay(env):
    db, ctx = env
    inode = db.run(lambda tr: create.run(ctx, tr, meta_pb2.CreateRequest(path="/f"))).inode
    db.run(lambda tr: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path="/f")))
    remover = RecordingRemover()
    collector = RemovalCollector(db, remover)
    assert collect(collector, now_ms()) == 0  # not before gc_delay_s
    assert collect(collector, now_ms() + 61_000) == 1
    [record] = remover.removed
    assert record.inode_id == inode.id and record.reason == "unlink"
    assert record.layout == inode.layout
    assert db.read(lambda tr: schema.get_inode(tr, inode.id)) is None
    assert collect(collector, now_ms() + 120_000) == 0


def test_removal_waits_for_open_write_sessions(env):
    db, ctx = env
    tag = RequestTagger().tag()
    request = meta_pb2.OpenRequest(
        tag=tag, path="/f", open_mode=meta_pb2.OPEN_MODE_UPDATE, create=True
    )
    opened = db.run(lambda tr: open_session.run(ctx, tr, request))
    db.run(lambda tr: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path="/f")))
    remover = RecordingRemover()
    collector = RemovalCollector(db, remover)
    assert collect(collector, now_ms() + 61_000) == 0
    closing = meta_pb2.CloseRequest(tag=tag, inode_id=opened.inode.id, session_id=opened.session_id)
    db.run(lambda tr: close.run_close(ctx, tr, closing))
    assert collect(collector, now_ms() + 61_000) == 1 and len(remover.removed) == 1


def test_removal_record_carries_the_length(env):
    db, ctx = env
    tag = RequestTagger().tag()
    request = meta_pb2.OpenRequest(
        tag=tag, path="/f", open_mode=meta_pb2.OPEN_MODE_WRITE, create=True
    )
    opened = db.run(lambda tr: open_session.run(ctx, tr, request))
    closing = meta_pb2.CloseRequest(
        tag=tag, inode_id=opened.inode.id, session_id=opened.session_id, length_hint=12345
    )
    db.run(lambda tr: close.run_close(ctx, tr, closing))
    db.run(lambda tr: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path="/f")))
    remover = RecordingRemover()
    collect(RemovalCollector(db, remover), now_ms() + 61_000)
    assert [r.length for r in remover.removed] == [12345]


def test_a_failed_removal_stays_queued(env):
    db, ctx = env
    inode = db.run(lambda tr: create.run(ctx, tr, meta_pb2.CreateRequest(path="/f"))).inode
    db.run(lambda tr: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path="/f")))
    assert collect(RemovalCollector(db, FailingRemover()), now_ms() + 61_000) == 0
    begin, end = schema.removals_due(now_ms() + 61_000)
    assert len(db.read(lambda tr: tr.get_range(begin, end))) == 1  # queued still
    remover = RecordingRemover()
    assert collect(RemovalCollector(db, remover), now_ms() + 61_000) == 1
    assert [r.inode_id for r in remover.removed] == [inode.id]


class InodeCheckingRemover:
    """Records whether each inode was already gone from meta when its chunks were removed."""

    def __init__(self, db):
        self.db = db
        self.inode_gone: list[bool] = []

    async def remove_chunks(self, record: meta_pb2.RemovalRecord) -> None:
        inode = self.db.read(lambda tr: schema.get_inode(tr, record.inode_id))
        self.inode_gone.append(inode is None)


def test_a_removed_files_inode_is_gone_before_its_chunks_go(env):
    """A reader meeting a removed chunk asks meta for the inode: it must already be gone
    (ESTALE), never still there (a hole read as zeros)."""
    db, ctx = env
    for name in ("/a", "/b"):
        db.run(lambda tr, n=name: create.run(ctx, tr, meta_pb2.CreateRequest(path=n)))
        db.run(lambda tr, n=name: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path=n)))
    remover = InodeCheckingRemover(db)
    assert collect(RemovalCollector(db, remover), now_ms() + 61_000) == 2
    assert remover.inode_gone == [True, True]


def test_idempotency_records_expire_after_retention(env):
    db, _ = env
    tag = RequestTagger().tag()

    def body(tr):
        return apply_once(tr, tag, "Hello", meta_pb2.HelloResponse, meta_pb2.HelloResponse)

    db.run(body)
    begin, end = schema.idempotency_before(now_ms() + 1)
    assert len(db.read(lambda tr: tr.get_range(begin, end))) == 1
    asyncio.run(IdempotencyCollector(db, retention_s=600).run_once(now_ms()))
    assert len(db.read(lambda tr: tr.get_range(begin, end))) == 1
    asyncio.run(IdempotencyCollector(db, retention_s=600).run_once(now_ms() + 601_000))
    assert db.read(lambda tr: tr.get_range(begin, end)) == []


def test_a_backlog_is_collected_in_batches_in_one_round(env):
    db, ctx = env
    for i in range(7):
        db.run(lambda tr, i=i: create.run(ctx, tr, meta_pb2.CreateRequest(path=f"/f{i}")))
        db.run(lambda tr, i=i: unlink.run(ctx, tr, meta_pb2.UnlinkRequest(path=f"/f{i}")))
    remover = RecordingRemover()
    assert collect(RemovalCollector(db, remover, batch=3), now_ms() + 61_000) == 7
    assert len({r.inode_id for r in remover.removed}) == 7
