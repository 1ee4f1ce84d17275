"""Write sessions, lengths and the wb swap, through a real meta process."""

from __future__ import annotations

import time

import pytest
from meta_harness import MetaCaller, start_meta

from flyfs.errors import Code, FlyfsError
from flyfs.proto import meta_pb2
from flyfs.request_tags import RequestTagger

WRITE, APPEND, UPDATE = (
    meta_pb2.OPEN_MODE_WRITE,
    meta_pb2.OPEN_MODE_APPEND,
    meta_pb2.OPEN_MODE_UPDATE,
)
Ref = meta_pb2.InodeRef


def open_for(meta, path, mode, **kw) -> meta_pb2.OpenResponse:
    return meta.call("Open", meta_pb2.OpenRequest(path=path, open_mode=mode, **kw))


def close(meta, opened, length=None, **kw) -> meta_pb2.Inode:
    request = meta_pb2.CloseRequest(inode_id=opened.inode.id, session_id=opened.session_id, **kw)
    if length is not None:
        request.length_hint = length
    return meta.call("Close", request).inode


def test_wb_on_a_missing_path_creates_it_at_once(meta, base):
    opened = open_for(meta, f"{base}/new", WRITE, create=True)
    assert opened.replaces_inode_id == 0 and opened.session_lease_ms > 0
    assert meta.stat(f"{base}/new").id == opened.inode.id
    assert close(meta, opened, 100).size == 100
    assert meta.stat(f"{base}/new").size == 100


def test_wb_over_an_existing_file_swaps_at_close(meta, base):
    first = open_for(meta, f"{base}/ckpt", WRITE, create=True)
    close(meta, first, 10)
    second = open_for(meta, f"{base}/ckpt", WRITE, create=True)
    assert second.replaces_inode_id == first.inode.id and second.inode.id != first.inode.id
    assert meta.stat(f"{base}/ckpt").id == first.inode.id  # readers still see the old file
    close(meta, second, 20)
    now = meta.stat(f"{base}/ckpt")
    assert now.id == second.inode.id and now.size == 20
    old = meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=first.inode.id))).inode
    assert old.unlinked
    assert not meta.fsck().problems


def test_aborted_wb_keeps_the_old_file(meta, base):
    first = open_for(meta, f"{base}/f", WRITE, create=True)
    close(meta, first, 5)
    second = open_for(meta, f"{base}/f", WRITE)
    close(meta, second, 99, abort=True)
    assert meta.stat(f"{base}/f").id == first.inode.id and meta.stat(f"{base}/f").size == 5


def test_xb_is_exclusive(meta, base):
    open_for(meta, f"{base}/x", WRITE, create=True, exclusive=True)
    with pytest.raises(FileExistsError):
        open_for(meta, f"{base}/x", WRITE, create=True, exclusive=True)


def test_open_errors(meta, base):
    with pytest.raises(FileNotFoundError):
        open_for(meta, f"{base}/missing", WRITE)
    with pytest.raises(IsADirectoryError):
        open_for(meta, base, UPDATE)
    with pytest.raises(FlyfsError) as caught:
        meta.call("Open", meta_pb2.OpenRequest(path=f"{base}/f", create=True))
    assert caught.value.code is Code.INVALID_ARGUMENT


def test_second_appender_is_busy_and_names_the_holder(meta, meta_server, base):
    holder = open_for(meta, f"{base}/log", APPEND, create=True)
    other = MetaCaller(meta_server.address)
    try:
        with pytest.raises(FlyfsError) as caught:
            open_for(other, f"{base}/log", APPEND)
        assert caught.value.code is Code.BUSY
        assert meta.tagger.client_id.hex() in str(caught.value) and "lease" in str(caught.value)
        close(meta, holder, 7)
        close(other, open_for(other, f"{base}/log", APPEND), 9)
    finally:
        other.close()
    assert meta.stat(f"{base}/log").size == 9


def test_length_is_the_largest_hint_and_never_shrinks_on_close(meta, base):
    a = open_for(meta, f"{base}/f", UPDATE, create=True)
    b = open_for(meta, f"{base}/f", UPDATE)
    meta.call(
        "Sync", meta_pb2.SyncRequest(inode_id=a.inode.id, session_id=a.session_id, length_hint=500)
    )
    assert meta.stat(f"{base}/f").size == 500
    close(meta, b, 300)
    assert meta.stat(f"{base}/f").size == 500
    close(meta, a, 800)
    assert meta.stat(f"{base}/f").size == 800


def test_truncate_sets_length_and_counts(meta, base):
    opened = open_for(meta, f"{base}/f", WRITE, create=True)
    close(meta, opened, 1000)
    cut = meta.call(
        "Truncate", meta_pb2.TruncateRequest(ref=Ref(path=f"{base}/f"), length=10)
    ).inode
    assert cut.size == 10 and cut.truncate_count == 1
    with pytest.raises(IsADirectoryError):
        meta.call("Truncate", meta_pb2.TruncateRequest(ref=Ref(path=base), length=0))


def test_close_of_an_unknown_session_is_eio(meta, base):
    opened = open_for(meta, f"{base}/f", WRITE, create=True)
    close(meta, opened, 1)
    with pytest.raises(FlyfsError) as caught:
        meta.call(
            "Close", meta_pb2.CloseRequest(inode_id=opened.inode.id, session_id=opened.session_id)
        )
    assert caught.value.code is Code.SESSION_EXPIRED and caught.value.errno == 5


def test_renew_sessions_reports_lost_ones(meta, meta_server, base):
    one = open_for(meta, f"{base}/a", UPDATE, create=True)
    two = open_for(meta, f"{base}/b", UPDATE, create=True)
    renewed = meta.call(
        "RenewSessions",
        meta_pb2.RenewSessionsRequest(session_ids=[one.session_id, two.session_id, 999_999_999]),
    )
    assert renewed.renewed == 2 and list(renewed.lost_session_ids) == [999_999_999]
    other = MetaCaller(meta_server.address, RequestTagger())
    try:
        assert other.call("RenewSessions", meta_pb2.RenewSessionsRequest()).renewed == 0
    finally:
        other.close()


def test_lapsed_wb_session_is_pruned_and_the_old_file_kept(tmp_path):
    server = start_meta(
        tmp_path,
        session_lease_s=0.3,
        session_prune_margin_s=0.1,
        janitor_interval_s=0.1,
        gc_delay_s=0.2,
    )
    meta = MetaCaller(server.address)
    try:
        first = open_for(meta, "/f", WRITE, create=True)
        close(meta, first, 3)
        stale = open_for(meta, "/f", WRITE)
        appender = open_for(meta, "/log", APPEND, create=True)
        meta.call(
            "Sync",
            meta_pb2.SyncRequest(
                inode_id=appender.inode.id, session_id=appender.session_id, length_hint=42
            ),
        )
        # Nobody renews: the pruner retires the new inode, then the collector removes it.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=stale.inode.id)))
            except FileNotFoundError:
                break
            time.sleep(0.1)
        with pytest.raises(FlyfsError) as caught:
            close(meta, stale, 50)
        assert caught.value.code is Code.SESSION_EXPIRED
        assert meta.stat("/f").id == first.inode.id and meta.stat("/f").size == 3
        assert meta.stat("/log").size == 42
        assert meta.call(
            "RenewSessions", meta_pb2.RenewSessionsRequest(session_ids=[stale.session_id])
        ).lost_session_ids == [stale.session_id]
        assert not meta.fsck().problems
    finally:
        meta.close()
        server.stop()
