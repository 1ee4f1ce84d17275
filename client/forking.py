"""`os.register_at_fork` hooks for every live cluster link of this process.

Registered once per process (children inherit them); each link is held weakly, so a link nobody
uses any more is not kept alive by its hooks.  A hook that fails is logged
and the fork goes on: a child that cannot reset a link reconnects anyway
(`ChunkIO` notices the new pid, channels are reopened lazily).
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Protocol

import grpc
from grpc._cython import cygrpc

log = logging.getLogger(__name__)


class Forkable(Protocol):
    def before_fork(self) -> None: ...

    def after_fork_in_parent(self) -> None: ...

    def after_fork_in_child(self) -> None: ...


_live: weakref.WeakSet[Forkable] = weakref.WeakSet()


def track(obj: Forkable) -> None:
    _live.add(obj)


def _each(hook: str) -> None:
    for obj in list(_live):
        try:
            getattr(obj, hook)()
        except Exception:  # a hook must never stop the fork; say what failed
            log.exception("flyfs fork hook %s failed", hook)


_registered = False
_anchor: tuple[int, grpc.Channel] | None = None


def anchor_grpc() -> None:
    """Keep gRPC initialized in this process, whatever channels we close.

    Closing a process's last channel makes gRPC shut its core down on a
    background thread; a fork in that moment copies the thread's lock into
    the child, whose first channel then waits for it forever (seen: one
    child in ten, when `before_fork` closed the last channels).  One idle
    channel, never connected (gRPC connects on the first call), holds gRPC
    up; gRPC's fork support closes it in the child, which makes its own.
    """
    global _anchor
    if _anchor is None or _anchor[0] != os.getpid():
        _anchor = (os.getpid(), grpc.insecure_channel("127.0.0.1:9"))


def register() -> None:
    """Install the hooks; call once gRPC is initialized (a channel exists), not earlier.

    Python runs `before` hooks in the reverse order of registration, and
    gRPC registers its own (`GRPC_ENABLE_FORK_SUPPORT`) when it initializes.
    Ours must run first: they cut and drain our calls, and gRPC's hook then
    finds no call of ours inside gRPC (it would otherwise hold them there
    until the fork is over, and wait for them in vain).
    """
    global _registered
    if not _registered:
        _registered = True
        if not cygrpc.is_fork_support_enabled():
            log.warning(
                "gRPC's fork support is off (grpc was imported before flyfs.client, or"
                " GRPC_ENABLE_FORK_SUPPORT is 0): a process forked from this one may hang"
                " in its first flyfs call; set GRPC_ENABLE_FORK_SUPPORT=1 before importing"
                " grpc, or start workers with spawn or forkserver"
            )
        os.register_at_fork(
            before=lambda: _each("before_fork"),
            after_in_parent=lambda: _each("after_fork_in_parent"),
            after_in_child=lambda: _each("after_fork_in_child"),
        )
