"""ChunkIO, the client's data path, against a real local cluster (chains of 3)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
import uvloop

from flyfs.client.chunk_io import ChunkIO, RangeInto
from flyfs.cluster import LocalCluster
from flyfs.layout import chain_of_chunk, chunk_id
from flyfs.proto import common_pb2, data_pb2
from flyfs.routing import Routing, fetch_routing
from tests.cluster.cluster_fixtures import local_cluster  # noqa: F401

CHUNK = 1 << 20


class PolledRouting:
    """A RoutingSource that fetches routing synchronously (as the client's control plane does)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.current: Routing = fetch_routing(address)
        self.refreshes = 0

    async def refresh(self, min_version: int = 0) -> Routing:
        self.refreshes += 1
        self.current = await asyncio.to_thread(fetch_routing, self.address)
        return self.current


class Harness:
    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.routing = PolledRouting(cluster.mgmtd_address)
        self.io = ChunkIO(cluster.cluster_id, self.routing)
        self.runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        table = self.routing.current.chain_table(1)
        self.layout = common_pb2.Layout(
            chunk_size=CHUNK,
            stripe=len(table.chain_ids),
            chain_table_id=table.table_id,
            chain_table_version=table.version,
            shuffle_seed=11,
        )
        self.inodes = iter(range(70_000, 80_000))

    def run(self, coro):
        return self.runner.run(coro)

    def write(self, inode: int, offset: int, data: bytes) -> None:
        self.run(self.io.write(inode, self.layout, offset, memoryview(data)))

    def read(self, inode: int, length: int, offset: int, size: int) -> bytes:
        dest = bytearray(size)
        n = self.run(self.io.read_into(inode, self.layout, length, offset, memoryview(dest)))
        return bytes(dest[:n])

    def close(self) -> None:
        self.run(self.io.close())
        self.runner.close()


@pytest.fixture(scope="module")
def h(local_cluster: LocalCluster) -> Iterator[Harness]:  # noqa: F811
    harness = Harness(local_cluster)
    yield harness
    harness.close()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_whole_files_of_every_shape_round_trip(h: Harness, size: int) -> None:
    data = random.Random(size).randbytes(size)
    inode = next(h.inodes)
    h.write(inode, 0, data)
    assert h.read(inode, size, 0, size + 100) == data  # clipped at the file's length
    for offset, n in [(0, 1), (CHUNK - 5, 10), (size // 2, 3 * CHUNK), (size, 10)]:
        assert h.read(inode, size, offset, n) == data[offset : offset + n]


def test_unaligned_overwrite_across_a_chunk_boundary(h: Harness) -> None:
    inode = next(h.inodes)
    base = bytearray(random.Random(1).randbytes(3 * CHUNK))
    h.write(inode, 0, bytes(base))
    patch = b"P" * (CHUNK + 333)
    h.write(inode, CHUNK - 111, patch)
    base[CHUNK - 111 : CHUNK - 111 + len(patch)] = patch
    assert h.read(inode, len(base), 0, len(base)) == bytes(base)


def test_chunks_never_written_read_as_zeros(h: Harness) -> None:
    inode = next(h.inodes)
    h.write(inode, 3 * CHUNK + 10, b"tail")
    length = 3 * CHUNK + 14
    got = h.read(inode, length, 0, length)
    assert got == bytes(3 * CHUNK + 10) + b"tail"


def test_many_ranges_of_many_files_in_one_call(h: Harness) -> None:
    rng = random.Random(3)
    files = {}
    for _ in range(3):
        inode = next(h.inodes)
        files[inode] = rng.randbytes(2 * CHUNK + 999)
        h.write(inode, 0, files[inode])
    picks = [
        (inode, rng.randrange(len(data) - 70_000), rng.randrange(1, 70_000))
        for inode, data in files.items()
        for _ in range(300)
    ]
    buffers = [bytearray(n) for _, _, n in picks]
    reads = [
        RangeInto(inode, h.layout, len(files[inode]), off, memoryview(buf))
        for (inode, off, _), buf in zip(picks, buffers, strict=True)
    ]
    counts = h.run(h.io.read_ranges_into(reads))
    assert counts == [n for _, _, n in picks]
    for (inode, off, n), buf in zip(picks, buffers, strict=True):
        assert bytes(buf) == files[inode][off : off + n]


def test_concurrent_writes_to_one_chunk_from_one_client_all_apply(h: Harness) -> None:
    inode = next(h.inodes)
    h.write(inode, 0, bytes(CHUNK))

    async def many() -> None:
        await asyncio.gather(
            *(
                h.io.write(inode, h.layout, i * 1000, memoryview(bytes([i]) * 1000))
                for i in range(1, 40)
            )
        )

    h.run(many())
    want = bytearray(CHUNK)
    for i in range(1, 40):
        want[i * 1000 : (i + 1) * 1000] = bytes([i]) * 1000
    assert h.read(inode, CHUNK, 0, CHUNK) == bytes(want)


def test_reads_skip_a_dead_replica(h: Harness) -> None:
    inode = next(h.inodes)
    data = random.Random(9).randbytes(4 * CHUNK)
    h.write(inode, 0, data)
    h.cluster.stop_node(0, kill=True)
    try:
        for _ in range(3):  # every turn of the replica rotation
            assert h.read(inode, len(data), 0, len(data)) == data
    finally:
        h.cluster.start_node(0)


def test_a_chunk_one_replica_lost_is_read_from_another_never_as_zeros(h: Harness) -> None:
    """One replica drops a committed chunk (removed there alone, as a buggy resync or a
    disk swapped by hand would leave it): every read still returns the bytes written."""
    inode = next(h.inodes)
    data = random.Random(21).randbytes(CHUNK)
    h.write(inode, 0, data)
    routing = h.routing.current
    chain = chain_of_chunk(h.layout, ChunkIO._chains(routing, h.layout), 0)
    serving = routing.serving(chain)
    header = data_pb2.RequestHeader()
    header.remove.chain.CopyFrom(routing.versioned(chain))
    header.remove.chunk_ids.append(chunk_id(inode, 0))
    header.remove.from_target_id = serving[-2]  # as the tail's predecessor forwards it

    async def remove_on_the_tail() -> int:
        answer = await h.io._client().call(routing.data_address(serving[-1]), header)
        return answer.remove.removed

    assert h.run(remove_on_the_tail()) == 1
    for _ in range(2 * len(serving)):  # every turn of the replica rotation, twice
        assert h.read(inode, len(data), 0, len(data)) == data
