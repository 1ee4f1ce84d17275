"""Which local target serves a request's chain, and the chain as this node sees it.

Two sources: mgmtd's routing (a node in a cluster), or the node's config
(`chain_ids`: each target alone is a chain of one, for a node run by
itself in tests and benchmarks).  Everything else in the service is the
same for both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import common_pb2
from flyfs.routing import Routing

from .craq import ChainView
from .targets import Target, Targets

Address = tuple[str, int]


class Placement(Protocol):
    def locate(self, chain: common_pb2.VersionedChainId) -> tuple[Target, ChainView]:
        """The local target in `chain` and the chain's view; errors tell a sender to re-route."""
        ...

    def address_of(self, target_id: int) -> Address:
        """The data-plane address of the node holding `target_id` (for forwards)."""
        ...

    def behind(self, chain: common_pb2.VersionedChainId) -> bool:
        """Whether the sender knows a newer version of `chain` than this node does."""
        ...

    async def catch_up(self) -> None:
        """Fetch the newest routing (a sender was ahead of this node)."""
        ...


class ConfiguredPlacement:
    """`chain_ids[i]` is served by `targets[i]` alone: head and tail at once."""

    def __init__(self, targets: Targets, chain_ids: list[int]) -> None:
        if len(chain_ids) != len(targets.by_id):
            raise error(
                Code.INVALID_ARGUMENT,
                "without mgmtd, storage config needs one chain_ids entry per target",
            )
        self._by_chain = dict(zip(chain_ids, targets.by_id.values(), strict=True))

    def locate(self, chain: common_pb2.VersionedChainId) -> tuple[Target, ChainView]:
        target = self._by_chain.get(chain.chain_id)
        if target is None:
            raise error(Code.ROUTING_STALE, f"chain {chain.chain_id} has no target on this node")
        # A chain of one has no version of its own to disagree with.
        return target, ChainView(chain.chain_id, chain.chain_version, (target.target_id,))

    def address_of(self, target_id: int) -> Address:
        raise error(Code.INTERNAL, f"a chain of one forwards nothing (target {target_id})")

    def behind(self, chain: common_pb2.VersionedChainId) -> bool:
        return False

    async def catch_up(self) -> None:
        return None


class RoutedPlacement:
    """Chains as mgmtd's routing has them; refused while the node is fenced."""

    def __init__(
        self,
        targets: Targets,
        routing: Callable[[], Routing],
        fence: Callable[[], None],
        refresh: Callable[[], Awaitable[object]],
    ):
        self._targets = targets
        self._routing = routing  # the newest applied
        self._fence = fence  # raises FENCED when the node must not serve
        self._refresh = refresh

    def locate(self, chain: common_pb2.VersionedChainId) -> tuple[Target, ChainView]:
        self._fence()
        routing = self._routing()
        info = routing.chain(chain.chain_id)
        for target_id in info.target_ids:
            target = self._targets.by_id.get(target_id)
            if target is not None:
                return target, ChainView(
                    info.chain_id,
                    info.chain_version,
                    routing.serving(info.chain_id),
                    routing.syncing(info.chain_id),
                )
        raise error(Code.ROUTING_STALE, f"chain {chain.chain_id} has no target on this node")

    def address_of(self, target_id: int) -> Address:
        return self._routing().data_address(target_id)

    def behind(self, chain: common_pb2.VersionedChainId) -> bool:
        try:
            return self._routing().chain(chain.chain_id).chain_version < chain.chain_version
        except FlyfsError as exc:
            return exc.code == Code.CHAIN_UNAVAILABLE

    async def catch_up(self) -> None:
        await self._refresh()
