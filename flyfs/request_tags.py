"""Request tags: what lets a server apply a retried request exactly once.

One `RequestTagger` per process and client instance: a random 16-byte
client id and one counter for request ids and sequences.  A forked child
must make its own (`fresh()`), or two processes would share a sequence space.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid

from flyfs.proto import common_pb2


class RequestTagger:
    def __init__(self, client_id: bytes | None = None):
        self.client_id = client_id or uuid.uuid4().bytes
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def tag(self) -> common_pb2.RequestTag:
        """A tag for a new logical request; retries must reuse it (see `retry_of`)."""
        with self._lock:
            number = next(self._numbers)
        return common_pb2.RequestTag(
            client_id=self.client_id,
            request_id=number,
            sequence=number,
            first_attempt_unix_ms=int(time.time() * 1000),
        )

    @staticmethod
    def retry_of(tag: common_pb2.RequestTag) -> common_pb2.RequestTag:
        again = common_pb2.RequestTag()
        again.CopyFrom(tag)
        again.attempt += 1
        return again
