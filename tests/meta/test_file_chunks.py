"""FileChunks: a file's chunks on storage, one request per chain, over a fake ChainStorage."""

from __future__ import annotations

import asyncio
import random

import pytest
from storage_fakes import FakeChains, write_file

from flyfs.errors import FlyfsError
from flyfs.layout import (
    MAX_INDEX,
    StaticChainTable,
    chain_of_chunk,
    chunk_id,
    file_chains,
    new_layout,
    parse_chunk_id,
)
from flyfs.meta.file_chunks import FileChunks, length_of, truncate_plan
from flyfs.proto import meta_pb2

CS = 64 << 10
TABLE = StaticChainTable([11, 12, 13, 14, 15, 16]).current()


def file_inode(inode_id: int, stripe: int, size: int = 0) -> meta_pb2.Inode:
    layout = new_layout(TABLE, chunk_size=CS, stripe=stripe, rng=random.Random(inode_id))
    return meta_pb2.Inode(id=inode_id, layout=layout, size=size)


@pytest.fixture
def env():
    storage = FakeChains()
    return storage, FileChunks(StaticChainTable([11, 12, 13, 14, 15, 16]), storage)


@pytest.mark.parametrize(
    ("length", "plan"),
    [
        (0, (0, None)),
        (1, (1, 1)),
        (CS - 1, (1, CS - 1)),
        (CS, (1, CS)),
        (CS + 1, (2, 1)),
        (3 * CS, (3, CS)),
        (CS * (MAX_INDEX + 1), (MAX_INDEX + 1, CS)),
    ],
)
def test_truncate_plan(length, plan):
    assert truncate_plan(length, CS) == plan


def test_truncate_plan_refuses_past_the_largest_file():
    with pytest.raises(FlyfsError):
        truncate_plan(CS * (MAX_INDEX + 1) + 1, CS)


def test_length_is_the_furthest_chunk_end():
    results = [(chunk_id(5, 2), 10), None, (chunk_id(5, 3), CS), (chunk_id(5, 1), CS)]
    assert length_of(results, CS) == 4 * CS
    assert length_of([None, None], CS) == 0


def test_removal_is_one_request_per_chain_and_spares_other_inodes(env):
    storage, chunks = env
    gone, kept = file_inode(7, stripe=3), file_inode(8, stripe=3)
    write_file(storage, chunks, gone, 10 * CS)
    write_file(storage, chunks, kept, 5 * CS)
    record = meta_pb2.RemovalRecord(inode_id=7, layout=gone.layout, length=10 * CS)
    asyncio.run(chunks.remove_chunks(record))
    assert sorted(storage.calls) == sorted(("remove", c) for c in chunks.chains(gone.layout))
    left = {parse_chunk_id(c).inode for held in storage.chunks.values() for c in held}
    assert left == {8}


@pytest.mark.parametrize("new_length", [0, 1, CS, 2 * CS + 5, 7 * CS])
def test_truncate_down_leaves_exactly_the_new_length(env, new_length):
    storage, chunks = env
    inode = file_inode(9, stripe=4)
    write_file(storage, chunks, inode, 7 * CS + 100)
    asyncio.run(chunks.truncate(inode, new_length))
    assert asyncio.run(chunks.length(inode)) == new_length
    removes = [c for c in storage.calls if c[0] == "remove"]
    assert len(removes) == 4  # one per chain of the file, not one per chunk
    held = sorted(
        (parse_chunk_id(c).index, n) for chain in storage.chunks.values() for c, n in chain.items()
    )
    full, last = divmod(new_length, CS)
    want = [(i, CS) for i in range(full)] + ([(full, last)] if last else [])
    assert held == want


def test_truncate_up_creates_the_last_chunk(env):
    storage, chunks = env
    inode = file_inode(10, stripe=2)
    write_file(storage, chunks, inode, 100)
    asyncio.run(chunks.truncate(inode, 3 * CS + 7))
    chains = file_chains(inode.layout, TABLE.chain_ids)
    assert ("cut", chain_of_chunk(inode.layout, chains, 3), 3, 7) in storage.calls
    assert asyncio.run(chunks.length(inode)) == 3 * CS + 7


def test_length_query_is_one_batch_for_all_chains(env):
    storage, chunks = env
    inode = file_inode(11, stripe=4)
    write_file(storage, chunks, inode, 5 * CS + 3)
    assert asyncio.run(chunks.length(inode)) == 5 * CS + 3
    assert storage.calls == [("last", 4)]
