"""Fencing: a storage node whose heartbeats go unacknowledged stops serving on its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyfs.cluster import LocalCluster
from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id
from tests.cluster.cluster_fixtures import start_cluster
from tests.replication.test_replicated_chunks import Client

LEASE_S = 3.0  # short: this test is about the lease running out


@pytest.fixture(scope="module")
def short_lease_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(
        Path(tmp_path_factory.mktemp("fencing")),
        nodes=3,
        targets_per_node=1,
        lease_s=LEASE_S,
        heartbeat_s=0.3,
    )
    yield cluster
    cluster.down()


def test_a_node_without_acknowledged_heartbeats_is_fenced_until_they_resume(
    short_lease_cluster: LocalCluster,
) -> None:
    cluster = short_lease_cluster
    client = Client(cluster)
    try:
        [chain] = client.chains
        cid = chunk_id(9_000, 0)
        client.run(client.write(chain, cid, 0, b"before"))
        cluster.mgmtd.stop(kill=True)  # no more acknowledgements
        fenced = None
        deadline = time.monotonic() + 3 * LEASE_S
        while time.monotonic() < deadline:  # bounded: fenced within the lease
            try:
                client.run(client.write(chain, cid, 0, b"during"))
            except FlyfsError as exc:
                fenced = exc
                break
            time.sleep(0.1)
        assert fenced is not None and fenced.code == Code.FENCED, fenced
        for target in client.routing.serving(chain):  # each node fences on its own clock
            deadline = time.monotonic() + LEASE_S
            while time.monotonic() < deadline:
                try:
                    client.run(client.read_replica(chain, target, cid, 6))
                except FlyfsError as exc:
                    if exc.code == Code.FENCED:
                        break
                    # A write cut short by a fenced successor is left pending.
                    assert exc.code == Code.NOT_COMMITTED, exc
                time.sleep(0.1)
            else:
                pytest.fail(f"target {target} still serves reads a lease after mgmtd died")
        cluster.restart_mgmtd()
        deadline = time.monotonic() + 3 * LEASE_S
        while True:  # bounded: serving again once a heartbeat is acknowledged
            try:
                client.run(client.write(chain, cid, 0, b"after!"))
                break
            except FlyfsError as exc:
                assert exc.code == Code.FENCED and time.monotonic() < deadline, exc
                time.sleep(0.1)
        for target in client.routing.serving(chain):
            got, _ = client.run(client.read_replica(chain, target, cid, 6))
            assert got == b"after!"
    finally:
        client.close()
