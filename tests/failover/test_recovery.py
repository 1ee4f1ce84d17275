"""Recovery cases: an interrupted resync, an mgmtd restart, a frozen node, a rotten block,
and a chain that lost every replica (LASTSRV)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from workload import (
    LEASE_S,
    Load,
    all_serving,
    compare_replicas,
    filesystem,
    short_lease_cluster,
    target_dirs,
    wait_for,
)

from flyfs.chains import LASTSRV, OFFLINE, SERVING, SYNCING
from flyfs.cluster import LocalCluster
from flyfs.errors import Code, FlyfsError
from flyfs.storage.chunk_meta import data_offset
from tests.replication.test_replicated_chunks import Client

# Refusals a stale or fenced replica may answer with: never data.
REFUSALS = {
    Code.FENCED,
    Code.CHAIN_VERSION_MISMATCH,
    Code.TARGET_NOT_SERVING,
    Code.ROUTING_STALE,
}


def _states(cluster: LocalCluster, targets: set[int]) -> set[int]:
    routing = cluster.routing()
    return {routing.state(t) for t in targets}


def _node_targets(cluster: LocalCluster, node: int) -> set[int]:
    return set(cluster.storage[node].config.target_ids)


def _finish(cluster: LocalCluster, load_or_fs, expected: dict[str, bytes] | None = None) -> None:
    """Every chain serving again, every acknowledged file intact, replicas byte-identical."""
    wait_for(lambda: all_serving(cluster), 120, "every chain to serve again")
    if isinstance(load_or_fs, Load):
        assert load_or_fs.torn == [] and load_or_fs.errors == []
        assert load_or_fs.verify_all() == []
    else:
        for path, data in (expected or {}).items():
            assert load_or_fs.cat_file(path) == data, path
    routing = cluster.routing()
    cluster.down()
    checked, problems = compare_replicas(routing, target_dirs(cluster))
    assert checked > 0 and problems == []


@pytest.fixture
def paced_cluster(tmp_path: Path):
    """Resync paced at 8 MB/s, so a test can catch one half way."""
    running = short_lease_cluster(tmp_path / "cluster", resync_bytes_per_s=8 << 20)
    yield running
    running.down()


def test_a_resync_interrupted_on_both_sides_completes(paced_cluster: LocalCluster) -> None:
    cluster = paced_cluster
    fs = filesystem(cluster)
    files = {f"/r/before{i}": os.urandom(1_500_000 + i) for i in range(4)}
    for path, data in files.items():
        fs.pipe_file(path, data)
    cluster.stop_node(0, kill=True)
    dead = _node_targets(cluster, 0)
    wait_for(lambda: _states(cluster, dead) == {OFFLINE}, LEASE_S * 4, "node 1 out")
    missed = {f"/r/missed{i}": os.urandom(3_000_000 + i) for i in range(12)}
    for path, data in missed.items():  # ~36 MB node 1 must get back by resync
        fs.pipe_file(path, data)
    files |= missed
    cluster.start_node(0)

    def pushing() -> int | None:
        """The node pushing a resync into node 1 once it has pushed part of it."""
        routing = cluster.routing()
        for t in routing.info.targets:
            sync = t.sync
            under_way = sync.bytes_done > 0 and sync.chunks_done < sync.chunks_total
            if sync.to_target_id in dead and under_way:
                return t.node_id - 1
        return None

    wait_for(lambda: pushing() is not None, 60, "a resync into node 1 under way")
    source = pushing()
    assert source is not None and source != 0
    assert SYNCING in _states(cluster, dead)
    cluster.stop_node(0, kill=True)  # the syncing target ...
    cluster.stop_node(source, kill=True)  # ... and its predecessor, mid-resync
    both = dead | _node_targets(cluster, source)
    wait_for(lambda: SERVING not in _states(cluster, both), LEASE_S * 4, "both out")
    cluster.start_node(source)
    cluster.start_node(0)
    _finish(cluster, fs, files)


def test_an_mgmtd_restart_under_load_changes_no_chain(cluster: LocalCluster) -> None:
    fs = filesystem(cluster)
    load = Load(fs, "/m", max_bytes=4 << 20).start()
    try:
        load.wait_acked(3)
        before = {c.chain_id: c.chain_version for c in cluster.routing().info.chains}
        at = time.monotonic()
        cluster.restart_mgmtd(kill=True)
        load.wait_acked(3)
        resumed = load.resumed_after(at)
        assert resumed is not None and resumed < 60
        load.wait_acked(3)
        print(f"mgmtd restart: longest write pause {load.longest_pause(at):.1f} s")
        time.sleep(LEASE_S * 1.5)  # past the grace: still nothing moves
        after = {c.chain_id: c.chain_version for c in cluster.routing().info.chains}
        assert after == before and all_serving(cluster)
        load.wait_acked(1)
    finally:
        load.finish()
    _finish(cluster, load)


def test_a_frozen_node_fences_itself_and_rejoins_by_resync(cluster: LocalCluster) -> None:
    fs = filesystem(cluster)
    load = Load(fs, "/z", max_bytes=4 << 20).start()
    old = Client(cluster)  # keeps the routing of before the freeze
    try:
        load.wait_acked(3)
        chain = old.chains[0]
        head = old.routing.head(chain)
        node = old.routing.target(head).node_id - 1
        cid = bytes(old.run(_any_chunk(old, chain, head)))
        frozen = _node_targets(cluster, node)
        os.kill(cluster.storage[node].pid, 19)  # SIGSTOP
        try:
            wait_for(lambda: _states(cluster, frozen) == {OFFLINE}, LEASE_S * 4, "frozen out")
            load.wait_acked(2)
        finally:
            os.kill(cluster.storage[node].pid, 18)  # SIGCONT
        # Right after it thaws, under the chain it knew: no read served, no write taken.
        with pytest.raises(FlyfsError) as read:
            old.run(old.read_replica(chain, head, cid, 10))
        assert read.value.code in REFUSALS, read.value
        with pytest.raises(FlyfsError) as write:
            old.run(old.write(chain, cid, 0, b"stale write", at=head))
        assert write.value.code in REFUSALS, write.value
        wait_for(lambda: all_serving(cluster), 90, "the thawed node to resync and serve")
        load.wait_acked(1)
    finally:
        old.close()
        load.finish()
    _finish(cluster, load)


async def _any_chunk(client: Client, chain: int, target: int) -> bytes:
    header = _list_request(client, chain)
    answer = await client.storage.call(client.routing.data_address(target), header)
    return answer.list_chunks.chunks[0].chunk_id


def _list_request(client: Client, chain: int):
    from flyfs.proto import data_pb2

    header = data_pb2.RequestHeader()
    header.list_chunks.chain.CopyFrom(client.routing.versioned(chain))
    header.list_chunks.limit = 1
    return header


@pytest.fixture
def scrubbed_cluster(tmp_path: Path):
    """The scrubber passes every second."""
    running = short_lease_cluster(tmp_path / "cluster", scrub_interval_s=1.0)
    yield running
    running.down()


def _rot(path: Path) -> None:
    """Flip 16 bytes in block 1 of a chunk file's data (1 MiB chunks)."""
    with open(path, "r+b") as f:
        f.seek(data_offset(1 << 20) + 70_000)
        rotten = bytes(b ^ 0xFF for b in f.read(16))
        f.seek(data_offset(1 << 20) + 70_000)
        f.write(rotten)


def _first_copy(cluster: LocalCluster, ino: int) -> tuple[int, Path]:
    """(target, committed file) of the first chunk of inode `ino` on the lowest target."""
    dirs = target_dirs(cluster)
    prefix = f"{ino:016x}"
    return next(
        (t, p) for t in sorted(dirs) for p in sorted((dirs[t] / "chunks").glob(f"*/{prefix}*.c"))
    )


def _repaired(cluster: LocalCluster, target: int) -> bool:
    return cluster.routing().target(target).repaired_chunks >= 1


def test_a_rotten_block_is_read_around_and_repaired(cluster: LocalCluster) -> None:
    fs = filesystem(cluster)  # the scrubber's first pass is a minute away
    data = os.urandom(2_500_000)
    fs.pipe_file("/rot/read", data)
    victim, path = _first_copy(cluster, fs.info("/rot/read")["ino"])
    _rot(path)
    for _ in range(6):  # reads rotate over every replica, the rotten one included
        assert fs.cat_file("/rot/read") == data
    wait_for(lambda: _repaired(cluster, victim), 30, "the copy a reader reported to be repaired")
    _finish(cluster, fs, {"/rot/read": data})


def test_the_scrubber_finds_a_rotten_block_and_it_is_repaired(
    scrubbed_cluster: LocalCluster,
) -> None:
    cluster = scrubbed_cluster
    fs = filesystem(cluster)
    data = os.urandom(1_000_000)
    fs.pipe_file("/rot/scrubbed", data)
    victim, path = _first_copy(cluster, fs.info("/rot/scrubbed")["ino"])
    _rot(path)  # and never read before it is repaired
    wait_for(lambda: _repaired(cluster, victim), 30, "the scrubber's find to be repaired")
    _finish(cluster, fs, {"/rot/scrubbed": data})


def test_a_chain_that_lost_every_replica_waits_for_the_last_one(cluster: LocalCluster) -> None:
    fs = filesystem(cluster, retry_window_s=2.0)
    data = os.urandom(3_000_000)
    fs.pipe_file("/last/file", data)
    for node in (0, 1):
        cluster.stop_node(node, kill=True)
    gone = _node_targets(cluster, 0) | _node_targets(cluster, 1)
    wait_for(lambda: _states(cluster, gone) == {OFFLINE}, LEASE_S * 4, "two replicas out")
    fs.pipe_file("/last/acked", b"acknowledged by the last replica")
    cluster.stop_node(2, kill=True)
    last = _node_targets(cluster, 2)
    wait_for(lambda: _states(cluster, last) == {LASTSRV}, LEASE_S * 4, "LASTSRV")
    with pytest.raises(OSError) as refused:
        fs.pipe_file("/last/file2", b"must not be silently lost")
    assert "LASTSRV" in str(refused.value) or "no serving" in str(refused.value)
    cluster.start_node(2)
    wait_for(lambda: _states(cluster, last) == {SERVING}, LEASE_S * 4, "the last one back")
    assert fs.cat_file("/last/file") == data
    fs.pipe_file("/last/file2", b"now it is taken")
    cluster.start_node(0)
    cluster.start_node(1)
    expected = {
        "/last/file": data,
        "/last/acked": b"acknowledged by the last replica",
        "/last/file2": b"now it is taken",
    }
    _finish(cluster, fs, expected)
