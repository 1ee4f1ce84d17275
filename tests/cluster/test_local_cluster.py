"""`flyfs.cluster.LocalCluster`, the library tests and the CLI start clusters with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from procs import kill_leftovers, processes_naming

from flyfs.cluster import LocalCluster, serving_chains
from flyfs.cluster_file import ClusterFile
from flyfs.kv import KvConfig
from flyfs.process import ServerExitedError, process_start_time
from flyfs.proto import common_pb2


def test_the_fixture_cluster_serves_every_chain(local_cluster: LocalCluster) -> None:
    routing = local_cluster.routing()
    assert routing.cluster_id == local_cluster.cluster_id
    assert serving_chains(routing) == (2, 2)
    assert all(len(chain.target_ids) == 3 for chain in routing.info.chains)
    assert {t.target_id for t in routing.info.targets} == {101, 102, 201, 202, 301, 302}
    assert routing.meta_addresses() == [local_cluster.meta_address]
    node = local_cluster.storage[1]
    assert node.name == "storage-2" and node.port("data") > 0
    assert [p.name for p in node.targets] == ["t1", "t2"] and all(p.is_dir() for p in node.targets)
    recorded = json.loads(local_cluster.cluster_file.read_text())
    assert recorded["mgmtd"] == local_cluster.mgmtd_address
    assert {p["pid"] for p in recorded["processes"]} == {s.pid for s in local_cluster.servers()}


def test_restart_mgmtd_keeps_address_and_routing(local_cluster: LocalCluster) -> None:
    address, before = local_cluster.mgmtd_address, local_cluster.routing()
    local_cluster.restart_mgmtd()
    assert local_cluster.mgmtd_address == address
    after = local_cluster.routing()
    assert after.version >= before.version
    assert [c.chain_id for c in after.info.chains] == [c.chain_id for c in before.info.chains]


def test_a_stopped_node_comes_back_serving(local_cluster: LocalCluster) -> None:
    before = local_cluster.routing().node(3)
    local_cluster.stop_node(2, kill=True)
    assert process_start_time(before.pid) is None
    local_cluster.start_node(2)
    node = local_cluster.routing().node(3)
    assert node.pid == local_cluster.storage[2].pid != before.pid
    assert node.incarnation > before.incarnation
    local_cluster.wait_serving(timeout_s=60)
    routing = local_cluster.routing()
    assert {routing.state(t) for t in (301, 302)} == {common_pb2.TARGET_STATE_SERVING}
    assert serving_chains(routing) == (2, 2)


def test_a_failure_midway_stops_what_started_and_names_the_process(tmp_path: Path) -> None:
    broken = {"kv": KvConfig(engine="nosuch", sqlite_path=str(tmp_path / "meta-kv.db"))}
    with pytest.raises(ServerExitedError) as info:
        LocalCluster.up(tmp_path, nodes=1, replicas=1, meta_config=broken)
    assert info.value.filename == "meta"
    assert "nosuch" in info.value.strerror  # the tail of meta's log
    assert kill_leftovers(tmp_path) == []
    recorded = ClusterFile.load(tmp_path / "cluster.json")  # keeps the id mgmtd's KV holds
    assert [p.name for p in recorded.processes] == ["mgmtd"]
    assert not recorded.processes[0].alive()


def test_a_stopped_cluster_starts_again_on_its_data(tmp_path: Path) -> None:
    with LocalCluster.up(tmp_path, nodes=1, targets_per_node=2, replicas=1) as first:
        chains = [c.chain_id for c in first.routing().info.chains]
    assert processes_naming(tmp_path) == []
    with pytest.raises(FileExistsError, match="another layout"):
        LocalCluster.up(tmp_path, nodes=2, replicas=1)
    with LocalCluster.up(tmp_path, nodes=1, targets_per_node=2, replicas=1) as second:
        assert second.cluster_id == first.cluster_id
        assert [c.chain_id for c in second.routing().info.chains] == chains
    second.down(wipe=True)
    assert list(tmp_path.iterdir()) == []
