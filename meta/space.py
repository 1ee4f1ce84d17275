"""`statfs` from mgmtd's routing: the space users can fill, not raw disk.

Every byte a user writes is stored once per replica of its chain, so each
target's capacity and use count divided by the number of targets in its
chain: a chain of three 100 GB targets offers 100 GB.  (Per chain, that is
the mean over its targets.)  Targets not yet in a chain hold no file data
and are left out; before any chain exists, targets count raw, since nothing
is replicated yet.  Targets that share one disk (a local test cluster)
report that disk each, so the sum overstates what is there: figures are as
good as the targets' reports.
"""

from __future__ import annotations

from flyfs.proto import meta_pb2, mgmtd_pb2


def statfs(info: mgmtd_pb2.RoutingInfo) -> meta_pb2.StatfsResponse:
    width = {c.chain_id: len(c.target_ids) for c in info.chains}
    per_chain: dict[int, list[int]] = {}  # chain id -> [capacity, used] summed
    for target in info.targets:
        placed = target.chain_id if width.get(target.chain_id) else 0
        sums = per_chain.setdefault(placed, [0, 0])
        sums[0] += target.capacity_bytes
        sums[1] += target.used_bytes
    if per_chain.keys() - {0}:
        per_chain.pop(0, None)  # in no chain: holds no file data
    capacity = sum(c // width.get(chain, 1) for chain, (c, _) in per_chain.items())
    used = sum(u // width.get(chain, 1) for chain, (_, u) in per_chain.items())
    return meta_pb2.StatfsResponse(
        capacity_bytes=capacity, used_bytes=used, free_bytes=max(capacity - used, 0)
    )
