"""Apply a retried mutation once, and answer its retries with the first answer.

The record is written in the mutation's own transaction, keyed by the
request's first-attempt time, client id and request id, so "applied" and
"recorded" commit together and a retry (even through another meta server,
even after "commit unknown") finds it.  Records are kept
`idempotency_retention_s` (at least 5x the client's retry window) and then
collected by one range clear; a request whose first attempt is older than
that is refused (REQUEST_EXPIRED) rather than risk a second application.
Failed attempts leave no record: they changed nothing, so a retry runs anew.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from flyfs.errors import Code, error
from flyfs.kv import Database, ReadTransaction, Transaction
from flyfs.proto import common_pb2, meta_pb2

from . import schema

M = TypeVar("M", bound=Message)

CLIENT_ID_BYTES = 16


def check_tag(tag: common_pb2.RequestTag, retention_ms: int, now_ms: int) -> None:
    if len(tag.client_id) != CLIENT_ID_BYTES or tag.request_id == 0:
        raise error(
            Code.INVALID_ARGUMENT,
            "a mutation needs a RequestTag with a 16-byte client_id and a non-zero request_id",
        )
    if tag.first_attempt_unix_ms <= 0:
        raise error(Code.INVALID_ARGUMENT, "RequestTag.first_attempt_unix_ms is not set")
    age_ms = now_ms - tag.first_attempt_unix_ms
    if age_ms > retention_ms:
        raise error(
            Code.REQUEST_EXPIRED,
            f"first attempted {age_ms / 1000:.0f} s ago, longer than meta keeps retry"
            f" records ({retention_ms / 1000:.0f} s): refused rather than applied twice",
        )


def apply_once(
    tr: Transaction,
    tag: common_pb2.RequestTag,
    method: str,
    response_type: type[M],
    body: Callable[[], M],
) -> M:
    key = schema.idempotency_key(tag.first_attempt_unix_ms, tag.client_id, tag.request_id)
    raw = tr.get(key)
    if raw is not None:
        record = meta_pb2.IdempotencyRecord.FromString(raw)
        if record.method != method:
            raise error(
                Code.INVALID_ARGUMENT,
                f"request id {tag.request_id} was used for {record.method}, not {method}",
            )
        return response_type.FromString(record.response)
    response = body()
    record = meta_pb2.IdempotencyRecord(
        client_id=tag.client_id,
        request_id=tag.request_id,
        method=method,
        first_attempt_unix_ms=tag.first_attempt_unix_ms,
        committed_unix_ms=int(time.time() * 1000),
        response=response.SerializeToString(),
    )
    tr.set(key, record.SerializeToString())
    return response


def applied(tr: ReadTransaction, tag: common_pb2.RequestTag) -> bool:
    """Whether the request was applied already: its retry must not redo storage work."""
    key = schema.idempotency_key(tag.first_attempt_unix_ms, tag.client_id, tag.request_id)
    return tr.snapshot_get(key) is not None


class IdempotencyCollector:
    def __init__(self, db: Database, retention_s: float):
        self.db, self.retention_ms = db, int(retention_s * 1000)

    async def run_once(self, now_ms: int | None = None) -> None:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        begin, end = schema.idempotency_before(now_ms - self.retention_ms)
        await self.db.run_async(lambda tr: tr.clear_range(begin, end), idempotent=True)
