"""Chains of three on a real local cluster: mgmtd + meta + 3 storage nodes x 2 targets.

Everything goes through the data plane as a client would send it; the
checker reads every replica of every chunk from its own node (a node serves
reads of its own target of a chain).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import threading
import time
from collections.abc import Iterator

import pytest
import uvloop

from flyfs.cluster import LocalCluster
from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id
from flyfs.net import ConnectionPool, identity
from flyfs.proto import common_pb2
from flyfs.request_tags import RequestTagger
from flyfs.routing import Routing
from flyfs.storage_client import RangeRead, StorageClient
from tests.cluster.cluster_fixtures import local_cluster  # noqa: F401

CHUNK = 4 << 20
SERVING = common_pb2.TARGET_STATE_SERVING


class Client:
    """A data-plane client on its own event loop: routing from mgmtd, writes to heads."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.routing: Routing = cluster.routing()
        self.tagger = RequestTagger()
        self.runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        self.pool = ConnectionPool(identity(cluster.cluster_id, name="test-client"))
        self.storage = StorageClient(self.pool, self.tagger)

    def close(self) -> None:
        self.runner.run(self.pool.close())
        self.runner.close()

    @property
    def chains(self) -> list[int]:
        return [c.chain_id for c in self.routing.info.chains]

    def run(self, coro):
        return self.runner.run(coro)

    async def write(
        self, chain: int, cid: bytes, offset: int, data: bytes, *, at: int = 0, tag=None
    ):
        target = at or self.routing.head(chain)
        return await self.storage.write(
            self.routing.data_address(target),
            cid,
            self.routing.versioned(chain),
            offset,
            data,
            chunk_size=CHUNK,
            tag=tag,
        )

    async def read_replica(self, chain: int, target: int, cid: bytes, length: int = CHUNK):
        dest = memoryview(bytearray(length))
        ranges = [RangeRead(cid, self.routing.versioned(chain), 0, length, dest)]
        [result] = await self.storage.read(self.routing.data_address(target), ranges)
        if result.error is not None:
            raise result.error
        return bytes(dest[: result.length]), result.commit_ver


@pytest.fixture(scope="module")
def client(local_cluster: LocalCluster) -> Iterator[Client]:  # noqa: F811
    c = Client(local_cluster)
    yield c
    c.close()


def test_the_cluster_has_chains_of_three_on_three_nodes(client: Client) -> None:
    routing = client.routing
    assert len(client.chains) == 2
    for chain in client.chains:
        serving = routing.serving(chain)
        assert len(serving) == 3
        assert len({routing.target(t).node_id for t in serving}) == 3


def test_64_mib_in_unaligned_writes_lands_identical_on_every_replica(client: Client) -> None:
    rng = random.Random(6)
    data = rng.randbytes(64 << 20)
    inode = 1_000
    chains = client.chains
    cuts = sorted({0, len(data), *(rng.randrange(1, len(data)) for _ in range(20))})

    async def write_all() -> None:
        pieces = []
        for start, end in itertools.pairwise(cuts):
            at = start
            while at < end:  # split at chunk boundaries: one write per chunk touched
                index, offset = divmod(at, CHUNK)
                n = min(end - at, CHUNK - offset)
                chain = chains[index % len(chains)]
                pieces.append((chain, chunk_id(inode, index), offset, data[at : at + n]))
                at += n
        # Pieces of one chunk in order (a later one may overlap an earlier one's
        # chunk); chunks in parallel.
        by_chunk: dict[bytes, list] = {}
        for piece in pieces:
            by_chunk.setdefault(piece[1], []).append(piece)

        async def one_chunk(todo: list) -> None:
            for chain, cid, offset, payload in todo:
                await client.write(chain, cid, offset, payload)

        await asyncio.gather(*(one_chunk(todo) for todo in by_chunk.values()))

    client.run(write_all())

    async def check() -> None:
        for index in range(len(data) // CHUNK):
            chain = chains[index % len(chains)]
            want = data[index * CHUNK : (index + 1) * CHUNK]
            seen = []
            for target in client.routing.serving(chain):
                got, version = await client.read_replica(chain, target, chunk_id(inode, index))
                assert got == want, f"chunk {index} on target {target}"
                seen.append(version)
            assert len(set(seen)) == 1 and seen[0] >= 1, (index, seen)

    client.run(check())


def test_concurrent_writers_to_one_chunk_serialize(client: Client) -> None:
    chain = client.chains[0]
    cid = chunk_id(2_000, 0)
    writers = 12

    async def body() -> list:
        await client.write(chain, cid, 0, bytes(300_000))

        async def one(i: int):
            # Writers are separate clients: one client's writes to a chunk apply in
            # its sequence order, so it keeps at most one in flight per chunk.
            tag = RequestTagger().tag()
            done = await client.write(chain, cid, i * 10_000, bytes([i + 1]) * 100_000, tag=tag)
            return done.update_ver, i

        return await asyncio.gather(*(one(i) for i in range(writers)))

    applied = client.run(body())
    versions = sorted(v for v, _ in applied)
    assert versions == list(range(2, 2 + writers))  # each write its own version, no gaps
    want = bytearray(300_000)
    for _, i in sorted(applied):  # replay in version order: the one serial order
        want[i * 10_000 : i * 10_000 + 100_000] = bytes([i + 1]) * 100_000
    for target in client.routing.serving(chain):
        got, version = client.run(client.read_replica(chain, target, cid))
        assert got == bytes(want) and version == 1 + writers


def test_a_write_to_a_replica_that_is_not_the_head_is_refused(client: Client) -> None:
    chain = client.chains[1]
    cid = chunk_id(3_000, 0)
    for target in client.routing.serving(chain)[1:]:
        with pytest.raises(FlyfsError) as info:
            client.run(client.write(chain, cid, 0, b"x", at=target))
        assert info.value.code == Code.ROUTING_STALE
    stale = common_pb2.VersionedChainId(chain_id=chain, chain_version=99)
    head = client.routing.head(chain)
    with pytest.raises(FlyfsError) as info:
        client.run(
            client.storage.write(
                client.routing.data_address(head), cid, stale, 0, b"x", chunk_size=CHUNK
            )
        )
    assert info.value.code == Code.CHAIN_VERSION_MISMATCH
    for target in client.routing.serving(chain):
        with pytest.raises(FlyfsError) as info:
            client.run(client.read_replica(chain, target, cid))
        assert info.value.code == Code.CHUNK_NOT_FOUND


def test_a_retry_after_a_lost_response_applies_once(client: Client) -> None:
    chain = client.chains[0]
    cid = chunk_id(4_000, 0)
    head = client.routing.head(chain)
    client.run(client.write(chain, cid, 0, b"a" * 1000))
    tag = client.tagger.tag()

    client.run(_send_then_drop(client, chain, cid, head, tag))
    retry = common_pb2.RequestTag()
    retry.CopyFrom(tag)
    retry.attempt = 1
    done = client.run(client.write(chain, cid, 500, b"B" * 10, tag=retry))
    assert done.duplicate and done.commit_ver == 2
    for target in client.routing.serving(chain):
        got, version = client.run(client.read_replica(chain, target, cid, 1000))
        assert got == b"a" * 500 + b"B" * 10 + b"a" * 490 and version == 2


async def _send_then_drop(client: Client, chain: int, cid: bytes, head: int, tag) -> None:
    """Send one write on a fresh connection and drop it unanswered once the chain applied it."""
    pool = ConnectionPool(identity(client.cluster.cluster_id), timeout_s=5)
    storage = StorageClient(pool)
    sent = asyncio.ensure_future(
        storage.write(
            client.routing.data_address(head),
            cid,
            client.routing.versioned(chain),
            500,
            b"B" * 10,
            chunk_size=CHUNK,
            tag=tag,
        )
    )
    tail = client.routing.serving(chain)[-1]
    for _ in range(1000):  # bounded: the tail has it committed
        try:
            _, version = await client.read_replica(chain, tail, cid, 1000)
        except FlyfsError as exc:  # between the tail's stage and commit
            assert exc.code == Code.NOT_COMMITTED, exc
            version = 0
        if version == 2:
            break
        await asyncio.sleep(0.005)
    sent.cancel()  # the answer never reaches the writer
    await pool.close()


def test_an_mgmtd_restart_mid_load_changes_no_chain(client: Client) -> None:
    cluster = client.cluster
    before = cluster.routing()
    chain = client.chains[1]
    stop = threading.Event()
    failures: list[BaseException] = []
    written = [0]

    c = Client(cluster)  # routing fetched before the restart; its loop starts in the thread

    def load() -> None:
        try:
            i = 0
            while not stop.is_set() and i < 10_000:
                c.run(c.write(chain, chunk_id(5_000, i % 4), 0, os.urandom(64 << 10)))
                written[0] += 1
                i += 1
        except BaseException as exc:
            failures.append(exc)
        finally:
            c.close()

    worker = threading.Thread(target=load)
    worker.start()
    try:
        for _ in range(500):  # bounded: load is flowing before mgmtd dies
            if written[0] or failures:
                break
            time.sleep(0.01)
        cluster.restart_mgmtd(kill=True)
        mark = written[0]
        for _ in range(500):  # and keeps flowing after it is back
            if written[0] > mark + 5 or failures:
                break
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join(60)
    assert not worker.is_alive()
    assert failures == []
    assert written[0] > 0
    after = cluster.routing()
    assert after.version >= before.version
    assert [(c.chain_id, c.chain_version, list(c.target_ids)) for c in after.info.chains] == [
        (c.chain_id, c.chain_version, list(c.target_ids)) for c in before.info.chains
    ]
    assert all(t.public_state == SERVING for t in after.info.targets)
