"""A real storage process on 127.0.0.1, through the data-plane client."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest
from storage_node import chain, run_client, start_node

from flyfs.errors import Code, FlyfsError
from flyfs.layout import CHECKSUM_BLOCK as B
from flyfs.layout import chunk_id
from flyfs.proto import data_pb2
from flyfs.storage_client import RangeRead

CHUNK = 1 << 20


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    started = start_node(tmp_path_factory.mktemp("storage"), scrub_interval_s=0.3)
    yield started
    started.stop()


async def read_range(client, node, cid, offset, length, chain_id=1) -> bytes:
    dest = memoryview(bytearray(length))
    [result] = await client.read(
        node.address, [RangeRead(cid, chain(chain_id), offset, length, dest)]
    )
    if result.error is not None:
        raise result.error
    return bytes(dest[: result.length])


SIZES = [0, 1, B - 1, B, B + 1, CHUNK - 1, CHUNK]


@pytest.mark.parametrize("size", SIZES)
def test_writes_and_reads_of_every_shape(node, size):
    data = os.urandom(size)
    cid = chunk_id(1000 + size, 0)

    async def body(client):
        done = await client.write(node.address, cid, chain(1), 0, data, chunk_size=CHUNK)
        assert done.commit_ver == 1 and done.chunk_length == size
        assert await read_range(client, node, cid, 0, CHUNK) == data
        rng = random.Random(size)
        for _ in range(20):
            start = rng.randrange(0, size + 1)
            length = rng.randrange(0, size - start + 2)
            assert (
                await read_range(client, node, cid, start, length) == data[start : start + length]
            )

    run_client(body)


def test_unaligned_writes_across_blocks_build_the_right_chunk(node):
    model = bytearray()
    cid = chunk_id(2000, 0)
    rng = random.Random(7)

    async def body(client):
        for _ in range(25):
            offset = rng.randrange(0, CHUNK - 1)
            data = os.urandom(rng.randrange(1, min(3 * B, CHUNK - offset) + 1))
            await client.write(node.address, cid, chain(1), offset, data, chunk_size=CHUNK)
            if len(model) < offset:
                model.extend(bytes(offset - len(model)))
            model[offset : offset + len(data)] = data
        assert await read_range(client, node, cid, 0, CHUNK) == bytes(model)

    run_client(body)


def test_batch_read_of_1000_ranges_in_one_request(node):
    data = os.urandom(CHUNK)
    cids = [chunk_id(3000, i) for i in range(4)]
    rng = random.Random(3)

    async def body(client):
        for cid in cids:
            await client.write(node.address, cid, chain(2), 0, data, chunk_size=CHUNK)
        wanted = []
        for _ in range(1000):
            offset = rng.randrange(0, CHUNK - 4096)
            wanted.append((rng.choice(cids), offset, rng.randrange(1, 4096)))
        ranges = [RangeRead(c, chain(2), o, n, memoryview(bytearray(n))) for c, o, n in wanted]
        results = await client.read(node.address, ranges)
        for (_, offset, n), r, got in zip(wanted, ranges, results, strict=True):
            assert got.error is None and got.length == n
            assert bytes(r.dest) == data[offset : offset + n]

    run_client(body)


def test_pipelined_requests_from_many_tasks(node):
    blobs = {i: os.urandom(B + i) for i in range(24)}

    async def one(client, i):
        cid = chunk_id(4000 + i, 0)
        await client.write(node.address, cid, chain(1 + i % 2), 0, blobs[i], chunk_size=CHUNK)
        for _ in range(5):
            assert await read_range(client, node, cid, 0, CHUNK, 1 + i % 2) == blobs[i]

    async def body(client):
        await asyncio.gather(*(one(client, i) for i in range(24)))

    run_client(body)


def test_missing_chunk_and_unknown_chain_are_typed_errors(node):
    async def body(client):
        with pytest.raises(FlyfsError) as caught:
            await read_range(client, node, chunk_id(5000, 0), 0, 10)
        assert caught.value.code is Code.CHUNK_NOT_FOUND
        with pytest.raises(FlyfsError) as caught:
            await client.write(
                node.address, chunk_id(5000, 0), chain(99), 0, b"x", chunk_size=CHUNK
            )
        assert caught.value.code is Code.ROUTING_STALE

    run_client(body)


def test_retried_write_applies_once(node):
    cid = chunk_id(6000, 0)

    async def body(client):
        tag = client.tagger.tag()
        first = await client.write(
            node.address, cid, chain(1), 0, b"once", chunk_size=CHUNK, tag=tag
        )
        tag.attempt = 1
        again = await client.write(
            node.address, cid, chain(1), 0, b"once", chunk_size=CHUNK, tag=tag
        )
        assert again.duplicate and again.commit_ver == first.commit_ver == 1

    run_client(body)


def test_query_last_chunk_and_remove(node):
    inode = 7000

    async def body(client):
        for index in range(3):
            size = CHUNK if index < 2 else 12345
            data = os.urandom(size)
            await client.write(
                node.address, chunk_id(inode, index), chain(1), 0, data, chunk_size=CHUNK
            )
        query = data_pb2.RequestHeader()
        query.query_last_chunk.queries.add(chain=chain(1), inode_id=inode)
        [last] = (await client.call(node.address, query)).query_last_chunk.results
        assert (
            last.chunk_id == chunk_id(inode, 2) and last.length == 12345 and last.chunk_count == 3
        )
        remove = data_pb2.RequestHeader()
        remove.remove.chain.CopyFrom(chain(1))
        remove.remove.chunk_ids.extend(chunk_id(inode, i) for i in range(3))
        assert (await client.call(node.address, remove)).remove.removed == 3
        with pytest.raises(FlyfsError):
            await read_range(client, node, chunk_id(inode, 0), 0, 10)

    run_client(body)


def test_corrupted_block_fails_the_read_and_the_scrubber_reports_it(node):
    cid = chunk_id(8000, 0)
    data = os.urandom(3 * B)

    async def write(client):
        await client.write(node.address, cid, chain(2), 0, data, chunk_size=CHUNK)

    run_client(write)
    [path] = [p for p in Path(node.config.targets[1]).rglob("*") if p.name.startswith(cid.hex())]
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF  # in the last block of the data
    path.write_bytes(bytes(raw))

    async def read(client):
        assert await read_range(client, node, cid, 0, B, 2) == data[:B]  # an intact block
        with pytest.raises(FlyfsError) as caught:
            await read_range(client, node, cid, 2 * B, B, 2)
        assert caught.value.code is Code.CHECKSUM_MISMATCH

    run_client(read)
    log = Path(node.config.log_file)
    for _ in range(100):
        if cid.hex() in log.read_text():
            break
        time.sleep(0.1)
    assert f"scrub: chunk {cid.hex()} v1 bad blocks [2]" in log.read_text()


def test_a_client_of_another_cluster_is_refused(node):
    async def body(client):
        with pytest.raises(ConnectionRefusedError):
            await read_range(client, node, chunk_id(1, 0), 0, 1)

    run_client(body, cluster="some-other-cluster")


def test_truncate_cuts_the_chunk_and_a_later_write_past_the_end_reads_zeros(node):
    cid = chunk_id(9000, 0)
    data = os.urandom(3 * B)

    async def body(client):
        await client.write(node.address, cid, chain(1), 0, data, chunk_size=CHUNK)
        cut = data_pb2.RequestHeader()
        cut.truncate.chunk_id, cut.truncate.length, cut.truncate.chunk_size = cid, B + 5, CHUNK
        cut.truncate.chain.CopyFrom(chain(1))
        cut.truncate.tag.CopyFrom(client.tagger.tag())
        done = (await client.call(node.address, cut)).truncate
        assert done.chunk_length == B + 5 and done.commit_ver == 2
        assert await read_range(client, node, cid, 0, CHUNK) == data[: B + 5]
        await client.write(node.address, cid, chain(1), 2 * B, b"end", chunk_size=CHUNK)
        expect = data[: B + 5] + bytes(2 * B - (B + 5)) + b"end"
        assert await read_range(client, node, cid, 0, CHUNK) == expect

    run_client(body)
