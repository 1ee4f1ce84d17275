"""The client's control plane: meta and mgmtd calls, and the one retry loop they share.

Calls use *synchronous* gRPC channels run on a small thread pool, never
`grpc.aio`: gRPC supports fork only for its synchronous stack with channels
closed before the fork (DESIGN.md "Two planes"), and a filesystem made
before a DataLoader forks its workers must keep working in them.  So
:meth:`ControlPlane.before_fork` stops new calls, lets running ones finish
for up to `FORK_DRAIN_S`, closes every channel (cutting what still runs)
and waits until no thread is inside gRPC, so the child inherits no lock
gRPC held; a call that the close cut is retried after the fork (on a fresh
channel), so the parent never notices.  gRPC's own fork support
(`GRPC_ENABLE_FORK_SUPPORT`, which `flyfs.client` turns on unless told
otherwise) then restarts gRPC's threads in the child.

Retries (s3fs's `_call_s3`, done once): every mutation carries a
`RequestTag` and meta applies a tag once, so any call may be sent again.
A call is retried when its failure is retryable by the error table
(UNAVAILABLE, TIMEOUT, KV_BUSY, ...) or was cut by our own channel close,
with backoff 50 ms doubling to 1 s and full jitter, for at most
`retry_window_s` in total (meta keeps idempotency records 600 s, at least
5x this window: docs/interfaces.md).  UNAVAILABLE from meta drops its
channel and asks routing for meta's address again, so a restarted meta (or
one that moved) is found; gRPC's own reconnect backoff is never waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from flyfs import errors
from flyfs.backoff import Backoff
from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import meta_pb2_grpc, mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.request_tags import RequestTagger
from flyfs.routing import Routing, split_address

from . import forking

T = TypeVar("T")

log = logging.getLogger(__name__)

ROUTING_POLL_S = 1.0
FORK_DRAIN_S = 2.0  # running calls may finish before the fork; then they are cut
FORK_QUIET_TIMEOUT_S = 5.0


class ControlPlane:
    """Channels to mgmtd and meta, a thread pool to call them from, and the retry loop."""

    def __init__(
        self,
        mgmtd: str,
        *,
        threads: int = 8,
        attempt_timeout_s: float = 30.0,
        retry_window_s: float = 60.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        split_address(mgmtd)
        self.mgmtd = mgmtd
        self.threads = threads
        self.attempt_timeout_s = attempt_timeout_s
        self.retry_window_s = retry_window_s
        self.connect_timeout_s = connect_timeout_s
        self.tagger = RequestTagger()
        self._gate = threading.Lock()  # guards the channel table and the routing's swap
        self._quiet = threading.Condition()  # counts threads inside gRPC; gates the fork
        self._active = 0
        self._forking = False
        self._generation = 0  # +1 whenever channels are closed under running calls
        self._channels: dict[str, grpc.Channel] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._meta_address: str | None = None
        self._routing: Routing | None = None
        self._reached_mgmtd = False
        self._fetched_at = 0.0
        self._poll: asyncio.Task[None] | None = None

    # ---- routing (mgmtd) ---------------------------------------------------------------------

    @property
    def routing(self) -> Routing:
        """The newest routing fetched; ROUTING_STALE before the first fetch."""
        if self._routing is None:
            raise error(Code.ROUTING_STALE, "no routing fetched yet")
        return self._routing

    async def fetch_routing(self) -> Routing:
        """Routing from mgmtd if newer than ours (one GetRoutingInfo, retried)."""
        known = self._routing.version if self._routing is not None else 0
        request = mgmtd_pb2.GetRoutingInfoRequest(known_version=known)
        window = self.retry_window_s if self._reached_mgmtd else self.connect_timeout_s
        loop = asyncio.get_running_loop()

        def call():
            with self._inside_grpc():
                stub = self._stub(self.mgmtd, mgmtd_pb2_grpc.MgmtdStub)
                return stub.GetRoutingInfo(request, timeout=self.attempt_timeout_s)

        async def attempt():
            return await loop.run_in_executor(self._pool(), call)

        try:
            response = await self._retrying(attempt, window)
        except FlyfsError as exc:
            if self._reached_mgmtd:
                raise
            raise error(
                Code.UNAVAILABLE,
                f"cannot reach the cluster: no flyfs mgmtd answers at {self.mgmtd}"
                f" ({exc.code.name}: {exc.message or exc.strerror})",
                self.mgmtd,
            ) from exc
        self._reached_mgmtd = True
        self._fetched_at = time.monotonic()
        if not response.unchanged:
            fresh = Routing(response.routing)
            with self._gate:  # two loops' threads may refresh at once: never step back
                if self._routing is None or fresh.version > self._routing.version:
                    self._routing = fresh
        return self.routing

    async def refresh(self, min_version: int = 0) -> Routing:
        """Routing at `min_version` or newer (0: whatever is newest now); the RoutingSource API."""
        backoff = Backoff(self.retry_window_s)
        while True:  # bounded by the backoff's deadline
            routing = await self.fetch_routing()
            if routing.version >= min_version:
                return routing
            delay = backoff.next_delay()
            if delay is None:
                raise error(
                    Code.ROUTING_STALE, f"mgmtd is at v{routing.version}, not v{min_version} yet"
                )
            await asyncio.sleep(delay)

    @property
    def current(self) -> Routing:
        """The RoutingSource API (`client.chunk_io`): the newest routing we hold.

        Polled while in use rather than by a background task: when the data
        plane asks and the routing is older than `ROUTING_POLL_S`, a fetch
        starts beside the caller (who goes on with what we have), so a node
        that restarted on a new port is found without waiting for an error.
        """
        routing = self.routing
        if time.monotonic() - self._fetched_at > ROUTING_POLL_S and self._poll is None:
            self._poll = asyncio.get_running_loop().create_task(self._poll_once())
        return routing

    async def _poll_once(self) -> None:
        try:
            await self.fetch_routing()
        except FlyfsError as exc:  # mgmtd away: keep the routing we have
            log.warning("routing poll failed (keeping v%d): %s", self.routing.version, exc)
        finally:
            self._poll = None

    # ---- meta ----------------------------------------------------------------------------------

    async def meta(self, method: str, request: Message, *, window_s: float | None = None):
        """Call `Meta.<method>`, tagging a mutation; retried as the module says."""
        if "tag" in request.DESCRIPTOR.fields_by_name and not request.HasField("tag"):
            request.tag.CopyFrom(self.tagger.tag())
        loop = asyncio.get_running_loop()

        async def attempt():
            address = await self._meta()

            def call():  # on a pool thread: only those ever wait for a fork
                with self._inside_grpc():
                    stub = self._stub(address, meta_pb2_grpc.MetaStub)
                    return getattr(stub, method)(request, timeout=self.attempt_timeout_s)

            return await loop.run_in_executor(self._pool(), call)

        return await self._retrying(
            attempt,
            self.retry_window_s if window_s is None else window_s,
            request=request,
            on_unavailable=self._forget_meta,
        )

    async def _meta(self) -> str:
        if self._meta_address is None:
            routing = await self.fetch_routing()
            addresses = routing.meta_addresses()
            if not addresses:
                routing = await self.refresh(routing.version + 1)
                addresses = routing.meta_addresses()
            if not addresses:
                raise error(Code.UNAVAILABLE, f"no meta server in routing v{routing.version}")
            self._meta_address = addresses[0]
        return self._meta_address

    def _forget_meta(self) -> None:
        """Meta did not answer: drop its channel; the next attempt re-reads routing."""
        with self._gate:
            address, self._meta_address = self._meta_address, None
            channel = self._channels.pop(address, None) if address else None
            if channel is not None:
                self._generation += 1  # calls running on it are cut, not failed
        if channel is not None:
            channel.close()

    # ---- the retry loop ------------------------------------------------------------------------

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[T]],
        window_s: float,
        *,
        request: Message | None = None,
        on_unavailable: Callable[[], None] | None = None,
    ) -> T:
        backoff = Backoff(window_s)
        while True:  # bounded by the backoff's deadline
            generation = self._generation
            try:
                return await attempt()
            except grpc.RpcError as rpc:  # a FlyfsError (meta's address) was retried already
                exc = errors.from_grpc(rpc)
                cause = rpc
            cut = generation != self._generation  # our close (a fork), not the server
            delay = backoff.next_delay()
            if not (exc.retryable or cut) or delay is None:
                raise exc from cause
            if exc.code is Code.UNAVAILABLE and not cut and on_unavailable is not None:
                on_unavailable()
            if request is not None and "tag" in request.DESCRIPTOR.fields_by_name:
                request.tag.attempt += 1  # same client id and request id: applied once
            await asyncio.sleep(delay)

    # ---- channels, threads, fork ---------------------------------------------------------------

    def _stub(self, address: str, stub_type: Callable[[grpc.Channel], T]) -> T:
        with self._gate:
            channel = self._channels.get(address)
            if channel is None:
                forking.anchor_grpc()
                channel = self._channels[address] = grpc.insecure_channel(address)
                forking.register()  # gRPC is initialized now: our hooks go after its own
        return stub_type(channel)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="flyfs-control")
        return self._executor

    def _close_channels(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        self._generation += 1
        for channel in channels:
            channel.close()  # running calls end CANCELLED; `_retrying` sends them again

    @contextlib.contextmanager
    def _inside_grpc(self) -> Iterator[None]:
        """Marks a thread inside gRPC; waits while a fork is being prepared."""
        with self._quiet:
            self._quiet.wait_for(lambda: not self._forking)
            self._active += 1
        try:
            yield
        finally:
            with self._quiet:
                self._active -= 1
                self._quiet.notify_all()

    def before_fork(self) -> None:
        """Stop new calls, let running ones finish (briefly), cut the rest by closing the
        channels, and wait until no thread is inside gRPC: a lock gRPC held at fork time
        would stay held in the child.  Calls are let finish rather than cut at once because
        a cut call is cancelled on the server too, mid-transaction."""
        with self._quiet:
            self._forking = True
            self._quiet.wait_for(lambda: self._active == 0, FORK_DRAIN_S)
        with self._gate:
            self._close_channels()
        with self._quiet:
            if not self._quiet.wait_for(lambda: self._active == 0, FORK_QUIET_TIMEOUT_S):
                log.warning("forking with %d gRPC calls still running", self._active)

    def after_fork_in_parent(self) -> None:
        with self._quiet:
            self._forking = False
            self._quiet.notify_all()

    def after_fork_in_child(self) -> None:
        """The parent's threads and channels do not exist here: start clean, with our own id."""
        self._gate = threading.Lock()
        self._quiet = threading.Condition()
        self._active = 0
        self._forking = False
        self._channels = {}
        self._executor = None
        self._poll = None  # a task of the parent's loop
        self.tagger = RequestTagger()

    def close(self) -> None:
        with self._gate:
            self._close_channels()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
