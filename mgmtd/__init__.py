"""Cluster manager: membership, chain tables, routing.

config.py            MgmtdConfig (`python -m flyfs.mgmtd --config FILE`)
model.py             the persisted cluster: nodes, targets, chains, tables
schema.py            the model as KV records; load and diff-write
state.py             ClusterState: one transaction per change, heartbeats in memory
register.py          RegisterNode
create_chains.py     CreateChains (placement policy: flyfs.chains.build_chains)
set_target_state.py  SetTargetState (flyfs.chains.force_state)
service.py, server.py  gRPC
"""
