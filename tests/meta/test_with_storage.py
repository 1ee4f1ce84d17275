"""meta wired to a real cluster: mgmtd, meta and three storage nodes (chains of 3).

Bytes are written and read straight through the data plane here (the
client library is not part of this test), so what is asserted is what every
replica holds: removed files leave nothing on any replica, truncate cuts
storage before it answers, lengths after a truncate come from storage.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from meta_harness import MetaCaller

from flyfs.cluster import LocalCluster
from flyfs.errors import Code
from flyfs.layout import chain_of_chunk, chunk_id, file_chains
from flyfs.net import ConnectionPool, identity
from flyfs.proto import data_pb2, meta_pb2
from flyfs.routing import Routing
from flyfs.storage_client import RangeRead, StorageClient
from tests.cluster.cluster_fixtures import start_cluster

CS = 64 << 10
GC_DELAY_S = 2.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    overrides = {"gc_delay_s": GC_DELAY_S, "janitor_interval_s": 0.2}
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), meta_config=overrides)
    yield cluster
    cluster.down()


@pytest.fixture
def meta(cluster):
    caller = MetaCaller(cluster.meta_address)
    yield caller
    caller.close()


class Chunks:
    """A file's chunks, written at the chain head and read from each replica."""

    def __init__(self, cluster: LocalCluster, inode: meta_pb2.Inode):
        self.routing: Routing = cluster.routing()
        self.inode = inode
        table = self.routing.chain_table(inode.layout.chain_table_id)
        self.chains = file_chains(inode.layout, table.chain_ids)
        self.pool = ConnectionPool(identity(cluster.cluster_id))
        self.client = StorageClient(self.pool)

    def chain(self, index: int) -> int:
        return chain_of_chunk(self.inode.layout, self.chains, index)

    async def write(self, index: int, data: bytes) -> None:
        chain = self.chain(index)
        head = self.routing.data_address(self.routing.head(chain))
        cid, versioned = chunk_id(self.inode.id, index), self.routing.versioned(chain)
        await self.client.write(head, cid, versioned, 0, data, chunk_size=CS)

    async def replicas(self, index: int) -> list[bytes | None]:
        """Chunk `index` as each replica of its chain holds it (None: not there)."""
        chain = self.chain(index)
        found = []
        for target in self.routing.serving(chain):
            dest = bytearray(CS)
            cid, versioned = chunk_id(self.inode.id, index), self.routing.versioned(chain)
            read = RangeRead(cid, versioned, 0, CS, memoryview(dest))
            [result] = await self.client.read(self.routing.data_address(target), [read])
            if result.error is not None:
                assert result.error.code is Code.CHUNK_NOT_FOUND, result.error
                found.append(None)
            else:
                found.append(bytes(dest[: result.length]))
        return found

    async def counts(self) -> list[int]:
        """How many chunks of the inode each replica of each of its chains holds."""
        counts = []
        for chain in self.chains:
            for target in self.routing.serving(chain):
                header = data_pb2.RequestHeader()
                header.query_last_chunk.queries.add(
                    chain=self.routing.versioned(chain), inode_id=self.inode.id
                )
                response = await self.client.call(self.routing.data_address(target), header)
                counts.append(response.query_last_chunk.results[0].chunk_count)
        return counts


def run(cluster, inode, steps):
    async def scenario():
        chunks = Chunks(cluster, inode)
        try:
            return await steps(chunks)
        finally:
            await chunks.pool.close()

    return asyncio.run(scenario())


def open_file(meta: MetaCaller, path: str) -> meta_pb2.OpenResponse:
    return meta.call(
        "Open",
        meta_pb2.OpenRequest(
            path=path, open_mode=meta_pb2.OPEN_MODE_UPDATE, create=True, chunk_size=CS
        ),
    )


def close(meta: MetaCaller, opened: meta_pb2.OpenResponse, hint: int) -> meta_pb2.Inode:
    request = meta_pb2.CloseRequest(
        inode_id=opened.inode.id, session_id=opened.session_id, length_hint=hint
    )
    return meta.call("Close", request).inode


def truncate(meta: MetaCaller, path: str, length: int) -> meta_pb2.Inode:
    ref = meta_pb2.InodeRef(path=path)
    return meta.call("Truncate", meta_pb2.TruncateRequest(ref=ref, length=length)).inode


def wait_for(check, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_meta_registered_and_reports_replicated_space(cluster, meta):
    assert cluster.routing().meta_addresses() == [cluster.meta_address]
    raw = sum(t.capacity_bytes for t in cluster.routing().info.targets)

    def replicated() -> bool:  # once meta's routing has the chains (it polls each second)
        return meta.call("Statfs", meta_pb2.StatfsRequest()).capacity_bytes == raw // 3

    wait_for(replicated, 10)
    space = meta.call("Statfs", meta_pb2.StatfsRequest())
    assert space.free_bytes == space.capacity_bytes - space.used_bytes


def test_unlinked_file_leaves_no_chunk_on_any_replica(cluster, meta):
    opened = open_file(meta, "/unlinked")

    async def write_three(chunks):
        for index in range(3):
            await chunks.write(index, bytes([index + 1]) * CS)
        return await chunks.counts()

    counts = run(cluster, opened.inode, write_three)
    assert sum(counts) == 3 * 3  # three chunks, three replicas each
    close(meta, opened, 3 * CS)
    meta.call("Unlink", meta_pb2.UnlinkRequest(path="/unlinked"))
    assert sum(run(cluster, opened.inode, Chunks.counts)) == 9  # readers keep gc_delay_s
    wait_for(lambda: sum(run(cluster, opened.inode, Chunks.counts)) == 0, GC_DELAY_S + 15)
    by_id = meta_pb2.StatRequest(ref=meta_pb2.InodeRef(inode_id=opened.inode.id))
    with pytest.raises(FileNotFoundError):  # and then the inode itself goes
        meta.call("Stat", by_id)


def test_truncate_to_zero_then_rewrite_survives_the_gc_delay(cluster, meta):
    opened = open_file(meta, "/rewritten")

    async def write(chunks, fill: int, count: int):
        for index in range(count):
            await chunks.write(index, bytes([fill]) * CS)

    run(cluster, opened.inode, lambda c: write(c, 7, 3))
    assert truncate(meta, "/rewritten", 0).size == 0
    assert sum(run(cluster, opened.inode, Chunks.counts)) == 0  # cut before it answered
    run(cluster, opened.inode, lambda c: write(c, 9, 2))
    # The writer reports its furthest write ever (3 chunks); a truncate intervened,
    # so meta measures storage instead of trusting that hint.
    assert close(meta, opened, 3 * CS).size == 2 * CS
    time.sleep(GC_DELAY_S + 1)

    async def contents(chunks):
        return [await chunks.replicas(i) for i in range(3)]

    first, second, third = run(cluster, opened.inode, contents)
    assert first == second == [bytes([9]) * CS] * 3
    assert third == [None] * 3


def test_truncate_up_across_chunks_reads_zeros(cluster, meta):
    opened = open_file(meta, "/grown")

    async def write(chunks):
        await chunks.write(0, b"a" * CS)
        await chunks.write(1, b"b" * (CS // 2))

    run(cluster, opened.inode, write)
    close(meta, opened, CS + CS // 2)
    truncate(meta, "/grown", 10)
    assert truncate(meta, "/grown", 3 * CS + 5).size == 3 * CS + 5

    async def contents(chunks):
        return [await chunks.replicas(i) for i in range(4)]

    zero, one, two, three = run(cluster, opened.inode, contents)
    assert zero == [b"a" * 10] * 3  # short chunk: the rest reads as zeros
    assert one == two == [None] * 3  # holes: zeros
    assert three == [bytes(5)] * 3  # the new last chunk, zeros, so storage knows the length
