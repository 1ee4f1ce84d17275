"""mgmtd keeps its state in the KV: a SIGKILL and a restart on the same file lose nothing."""

from __future__ import annotations

import pytest
from mgmtd_harness import MgmtdCaller, start_mgmtd

from flyfs.chains import OFFLINE, SERVING
from flyfs.errors import Code, FlyfsError
from flyfs.process import ServerExitedError
from flyfs.routing import Routing


def kill(server) -> None:
    server.proc.kill()
    server.proc.wait(timeout=10)
    server.proc.close_parent_pipe()


def test_routing_survives_sigkill_and_restart(tmp_path):
    server = start_mgmtd(tmp_path)
    caller = MgmtdCaller(server.address)
    try:
        regs = {n: caller.register_storage(n, [n * 10 + 1, n * 10 + 2]) for n in (1, 2, 3)}
        chain = caller.create_chains().chains[0]
        down = chain.target_ids[0]
        caller.set_state(down, OFFLINE)
        before = Routing(caller.routing().routing)
    finally:
        caller.close()
        kill(server)

    server = start_mgmtd(tmp_path)
    caller = MgmtdCaller(server.address)
    try:
        after = Routing(caller.routing().routing)
        assert after.version == before.version
        assert after.chain(chain.chain_id) == before.chain(chain.chain_id)
        assert after.state(down) == OFFLINE and after.state(chain.target_ids[1]) == SERVING
        assert after.chain_table(1) == before.chain_table(1)
        # Nodes keep their incarnation: they go on heartbeating without noticing.
        assert caller.heartbeat(1, regs[1].incarnation).routing_version == before.version
        again = caller.register_storage(1, [11, 12])
        assert again.incarnation > max(r.incarnation for r in regs.values())
        assert again.routing.routing_version == before.version + 1
        # A re-registered node's targets keep their chain place and state.
        assert Routing(again.routing).chain(chain.chain_id) == before.chain(chain.chain_id)
        with pytest.raises(FlyfsError) as info:
            caller.heartbeat(1, regs[1].incarnation)
        assert info.value.code is Code.UNKNOWN_NODE
    finally:
        caller.close()
        server.stop()


def test_an_mgmtd_of_another_cluster_refuses_the_kv(tmp_path):
    start_mgmtd(tmp_path).stop()
    with pytest.raises(ServerExitedError) as info:
        start_mgmtd(tmp_path, cluster_id="another-cluster")
    assert "belongs to cluster" in str(info.value)
