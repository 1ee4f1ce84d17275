"""Everything one filesystem instance holds open to its cluster, and how it survives fork.

A :class:`ClusterLink` bundles the control plane (meta and mgmtd over
synchronous gRPC on a thread pool), the data plane (`ChunkIO`, pools of
connections to storage nodes), write-session leases and reused buffers.
All of it opens lazily, on first use, in the process that uses it.

Fork (`client.forking` calls these hooks around `os.fork`): before, gRPC
channels are closed (gRPC requires it) and the data-plane pools too, so the
child inherits no live connection; a call or read cut by that close is
retried by its own retry loop and succeeds on a new connection.  After, the
parent reopens lazily; the child drops what it inherited without touching it
(the parent's sockets, threads and event loop are not the child's) and
takes a fresh client id, so the two never share a request-sequence space.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading

from flyfs.errors import Code
from flyfs.net import BufferPool
from flyfs.proto import meta_pb2

from . import forking
from .chunk_io import ChunkIO
from .control import ControlPlane
from .leases import Leases

log = logging.getLogger(__name__)

FORK_CLOSE_TIMEOUT_S = 5.0


class ClusterLink:
    def __init__(
        self,
        mgmtd: str,
        *,
        control_threads: int,
        timeout_s: float,
        retry_window_s: float,
        connect_timeout_s: float,
        max_connections_per_node: int,
        max_concurrency: int,
    ) -> None:
        self.control = ControlPlane(
            mgmtd,
            threads=control_threads,
            attempt_timeout_s=timeout_s,
            retry_window_s=retry_window_s,
            connect_timeout_s=connect_timeout_s,
        )
        self.leases = Leases(self.control)
        self.buffers = BufferPool()  # used on the client's loop only
        self._timeout_s = timeout_s
        self._retry_window_s = retry_window_s
        self._max_per_address = max_connections_per_node
        self._max_concurrency = max_concurrency
        self._chunk_io: ChunkIO | None = None
        self._chunk_io_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        forking.track(self)

    async def chunk_io(self) -> ChunkIO:
        """The data plane, made once routing (and so the cluster id) is known."""
        if self._chunk_io is None:
            routing = await self.control.fetch_routing()
            with self._lock:
                if self._chunk_io is None:
                    self._chunk_io = ChunkIO(
                        routing.cluster_id,
                        self.control,
                        max_per_address=self._max_per_address,
                        timeout_s=self._timeout_s,
                        max_chunks_in_flight=self._max_concurrency,
                        retry_window_s=self._retry_window_s,
                        inodes_gone=self._inodes_gone,
                    )
        if self._chunk_io_loop is None:  # a loop of ours, to close all pools from before fork
            self._chunk_io_loop = asyncio.get_running_loop()
        return self._chunk_io

    async def _inodes_gone(self, inode_ids: list[int]) -> set[int]:
        """Which of `inode_ids` meta no longer has (one StatMany)."""
        request = meta_pb2.StatManyRequest(refs=[meta_pb2.InodeRef(inode_id=i) for i in inode_ids])
        response = await self.control.meta("StatMany", request)
        return {
            i
            for i, result in zip(inode_ids, response.results, strict=True)
            if result.status.code == Code.NOT_FOUND
        }

    # ---- fork ------------------------------------------------------------------------------------

    def before_fork(self) -> None:
        try:
            self._close_data_plane()  # first: a read it cuts may still need routing to retry
        finally:
            self.control.before_fork()  # whatever happened: a child must not inherit channels

    def _close_data_plane(self) -> None:
        """Close the pools on their loop, if that loop runs in another thread (fsspec's IO loop)."""
        io, loop = self._chunk_io, self._chunk_io_loop
        if io is None or loop is None or loop.is_closed() or not loop.is_running():
            return
        try:
            if asyncio.get_running_loop() is loop:
                return  # forking from the loop itself: the child forgets the pools instead
        except RuntimeError:
            pass
        future = asyncio.run_coroutine_threadsafe(io.close(), loop)
        try:
            future.result(FORK_CLOSE_TIMEOUT_S)
        except (concurrent.futures.TimeoutError, OSError) as exc:
            log.warning("closing data-plane connections before fork: %s", exc)

    def after_fork_in_parent(self) -> None:
        self.control.after_fork_in_parent()

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self.control.after_fork_in_child()
        if self._chunk_io is not None:
            self._chunk_io.forget_after_fork()
        self._chunk_io_loop = None
        self.leases.forget()
        self.buffers = BufferPool()

    async def close(self) -> None:
        await self.leases.close()
        if self._chunk_io is not None:
            await self._chunk_io.close()
        self.control.close()
