"""SetTargetState: an operator (or a test) forces a target's public state.

The forced state is applied as given, not re-derived from heartbeats, and
the chain is reordered to match (`flyfs.chains.force_state`); the chain
version grows when the order or a state changed, so forcing the same state
twice changes nothing the second time.  Only targets in a chain have a
state that matters, so a target in no chain is INVALID_ARGUMENT.
"""

from __future__ import annotations

from flyfs.chains import force_state
from flyfs.errors import Code, error
from flyfs.proto import mgmtd_pb2

from .model import ClusterModel


def run(model: ClusterModel, request: mgmtd_pb2.SetTargetStateRequest) -> mgmtd_pb2.ChainInfo:
    target = model.targets.get(request.target_id)
    if target is None:
        raise error(Code.INVALID_ARGUMENT, f"target {request.target_id} is not registered")
    if not target.chain_id:
        raise error(Code.INVALID_ARGUMENT, f"target {request.target_id} is in no chain")
    chain = model.chains[target.chain_id]
    update = force_state(model.members(chain.chain_id), request.target_id, request.state)
    if update.changed:
        model.set_members(chain.chain_id, update.members)
    return chain
