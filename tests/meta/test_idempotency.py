"""A retried mutation (same client id + request id) is applied once and answers the same."""

from __future__ import annotations

import time

import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.proto import meta_pb2
from flyfs.request_tags import RequestTagger


def lost_response_then_retry(meta, method, request):
    """The first attempt commits but its answer is 'lost'; the retry carries the same tag."""
    tag = meta.tagger.tag()
    first = meta.call(method, type(request).FromString(request.SerializeToString()), tag=tag)
    retry = meta.call(method, request, tag=RequestTagger.retry_of(tag))
    return first, retry


def test_retried_create_is_applied_once(meta, base):
    request = meta_pb2.CreateRequest(path=f"{base}/f", exclusive=True)
    first, retry = lost_response_then_retry(meta, "Create", request)
    assert first == retry and first.created  # not EXISTS: the retry gets the first answer
    assert meta.names(base) == ["f"]


def test_retried_rename_is_applied_once(meta, base):
    meta.create(f"{base}/a")
    meta.create(f"{base}/b")
    request = meta_pb2.RenameRequest(src=f"{base}/a", dst=f"{base}/b")
    first, retry = lost_response_then_retry(meta, "Rename", request)
    assert first == retry and first.replaced.id
    assert meta.names(base) == ["b"]


def test_retried_unlink_is_applied_once(meta, base):
    meta.create(f"{base}/f")
    meta.create(f"{base}/g")
    first, retry = lost_response_then_retry(
        meta, "Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f")
    )
    assert first == retry
    assert meta.names(base) == ["g"]


def test_request_id_reused_for_another_method_is_refused(meta, base):
    tag = meta.tagger.tag()
    meta.call("Create", meta_pb2.CreateRequest(path=f"{base}/f"), tag=tag)
    with pytest.raises(FlyfsError) as caught:
        meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f"), tag=tag)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert meta.names(base) == ["f"]


def test_request_older_than_retention_is_refused_not_reapplied(meta, base):
    tag = meta.tagger.tag()
    tag.first_attempt_unix_ms = int(time.time() * 1000) - 3_600_000
    with pytest.raises(FlyfsError) as caught:
        meta.call("Create", meta_pb2.CreateRequest(path=f"{base}/late"), tag=tag)
    assert caught.value.code is Code.REQUEST_EXPIRED
    assert meta.names(base) == []


def test_failed_attempt_leaves_no_record(meta, base):
    tag = meta.tagger.tag()
    with pytest.raises(FileNotFoundError):
        meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f"), tag=tag)
    meta.create(f"{base}/f")
    meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f"), tag=RequestTagger.retry_of(tag))
    assert meta.names(base) == []
