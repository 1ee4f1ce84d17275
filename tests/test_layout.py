"""Chunk ids, the placement shuffle, file layouts and chunk pieces.

The shuffle and the chunk id format decide where existing data lives, so
their outputs are pinned literally: any change to them fails here first.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flyfs.errors import Code, FlyfsError
from flyfs.layout import (
    CHUNK_ID_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_STRIPE,
    MAX_CHUNK_SIZE,
    MAX_INDEX,
    MAX_INODE,
    MAX_TRACK,
    MIN_CHUNK_SIZE,
    ChainTable,
    ChunkId,
    ChunkPiece,
    StaticChainTable,
    chain_of_chunk,
    chunk_count,
    chunk_id,
    chunk_range,
    file_chains,
    inode_chunk_range,
    new_layout,
    parse_chunk_id,
    shuffle,
    splitmix64,
)
from flyfs.proto import common_pb2

inodes = st.integers(0, MAX_INODE)
tracks = st.integers(0, MAX_TRACK)
indexes = st.integers(0, MAX_INDEX)
chunk_sizes = st.sampled_from([MIN_CHUNK_SIZE << k for k in range(11)])


def invalid(match: str):
    return pytest.raises(FlyfsError, match=match)


# --- chunk ids ---------------------------------------------------------------


def test_chunk_id_bytes_are_pinned():
    cid = chunk_id(0x0102030405060708, 0x0A0B0C0D, track=0x1112)
    assert cid == bytes.fromhex("0102030405060708 1112 0a0b0c0d 0000")
    assert len(cid) == CHUNK_ID_SIZE


@given(inodes, indexes, tracks)
def test_chunk_id_round_trips(inode, index, track):
    cid = chunk_id(inode, index, track)
    assert len(cid) == CHUNK_ID_SIZE
    assert parse_chunk_id(cid) == ChunkId(inode, track, index)


@given(st.tuples(inodes, tracks, indexes), st.tuples(inodes, tracks, indexes))
def test_byte_order_is_tuple_order(a, b):
    ida, idb = (chunk_id(inode, index, track) for inode, track, index in (a, b))
    assert (ida < idb) == (a < b)


@given(st.integers(0, MAX_INODE - 1), st.lists(indexes, min_size=1, max_size=20), tracks)
def test_chunks_of_an_inode_sort_together_in_index_order(inode, index_list, track):
    begin, end = inode_chunk_range(inode)
    ids = [chunk_id(inode, i, track) for i in sorted(set(index_list))]
    assert ids == sorted(ids)
    assert all(begin <= cid < end for cid in ids)
    next_begin, _ = inode_chunk_range(inode + 1)
    assert end <= next_begin
    assert chunk_id(inode, MAX_INDEX, MAX_TRACK) < end <= chunk_id(inode + 1, 0)


def test_inode_range_covers_the_extremes():
    for inode in (0, 1, MAX_INODE):
        begin, end = inode_chunk_range(inode)
        assert len(begin) == len(end) == CHUNK_ID_SIZE
        assert begin == chunk_id(inode, 0) and chunk_id(inode, MAX_INDEX, MAX_TRACK) < end
    assert inode_chunk_range(0)[1] <= chunk_id(1, 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 0, 0), "inode -1"),
        ((MAX_INODE + 1, 0, 0), "inode"),
        ((1, -1, 0), "chunk index -1"),
        ((1, MAX_INDEX + 1, 0), "chunk index"),
        ((1, 0, -1), "track -1"),
        ((1, 0, MAX_TRACK + 1), "track"),
    ],
)
def test_chunk_id_refuses_out_of_range_parts(args, match):
    with invalid(match) as caught:
        chunk_id(*args)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert isinstance(caught.value, OSError)


def test_parse_refuses_wrong_length_and_reserved_bytes():
    with invalid("15 bytes, not 16"):
        parse_chunk_id(bytes(15))
    with invalid("17 bytes, not 16"):
        parse_chunk_id(bytes(17))
    with invalid("nonzero reserved"):
        parse_chunk_id(chunk_id(1, 2)[:-1] + b"\x01")
    with invalid("inode -1"):
        inode_chunk_range(-1)


# --- the shuffle -------------------------------------------------------------


def test_splitmix64_matches_the_published_vectors():
    # From Vigna's splitmix64.c, seeded with 1234567.
    assert list(itertools.islice(splitmix64(1234567), 5)) == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (0, [6, 3, 2, 9, 8, 1, 4, 7, 0, 5]),
        (1, [4, 2, 8, 1, 9, 3, 0, 6, 7, 5]),
        (42, [0, 9, 5, 8, 6, 4, 7, 2, 1, 3]),
        (0x0123456789ABCDEF, [9, 3, 0, 7, 1, 2, 4, 6, 8, 5]),
        (2**64 - 1, [3, 4, 2, 7, 5, 0, 8, 1, 9, 6]),
    ],
)
def test_shuffle_is_pinned(seed, expected):
    assert shuffle(range(10), seed) == expected


def test_shuffle_of_other_items_and_sizes_is_pinned():
    letters = list("abcdefghijkl")
    assert shuffle(letters, 7) == list("klfbheicjgad")
    assert letters == list("abcdefghijkl")
    assert shuffle([5], 3) == [5]
    assert shuffle([], 3) == []


@given(st.lists(st.integers(), max_size=50), st.integers(0, 2**64 - 1))
def test_shuffle_is_a_permutation(items, seed):
    assert Counter(shuffle(items, seed)) == Counter(items)


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_shuffle_refuses_seeds_outside_64_bits(seed):
    with invalid("seed"):
        shuffle([1, 2], seed)


# --- chain tables and layouts -------------------------------------------------


def test_static_source_answers_its_one_table():
    source = StaticChainTable([3, 1, 2], table_id=2, version=5)
    assert source.current() == ChainTable(2, 5, (3, 1, 2))
    assert source.get(2, 5) is source.current()
    with pytest.raises(FlyfsError, match="chain table 2 v6 is unknown") as caught:
        source.get(2, 6)
    assert caught.value.code is Code.CHAIN_UNAVAILABLE


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 1, (1,)), "chain table id 0"),
        ((1, 0, (1,)), "chain table version 0"),
        ((1, 1, (0,)), "chain id 0"),
        ((1, 1, (2**32,)), "chain id"),
        ((1, 1, (4, 5, 4)), "lists a chain twice"),
    ],
)
def test_chain_table_refuses_bad_ids(args, match):
    with invalid(match):
        ChainTable(*args)


def test_new_layout_pins_table_and_draws_base_and_seed():
    table = ChainTable(3, 9, tuple(range(101, 113)))
    layout = new_layout(table, chunk_size=1 << 20, stripe=5, rng=random.Random(1))
    assert (layout.chunk_size, layout.stripe) == (1 << 20, 5)
    assert (layout.chain_table_id, layout.chain_table_version) == (3, 9)
    assert 0 <= layout.chain_base < 12 and not layout.chain_ids
    again = new_layout(table, chunk_size=1 << 20, stripe=5, rng=random.Random(1))
    assert again == layout
    chains = file_chains(layout, table.chain_ids)
    base = layout.chain_base
    assert sorted(chains) == sorted(table.chain_ids[(base + k) % 12] for k in range(5))


@pytest.mark.parametrize(("size", "expected"), [(1, 1), (3, 3), (4, 4), (12, DEFAULT_STRIPE)])
def test_stripe_zero_means_default_capped_by_table(size, expected):
    table = ChainTable(1, 1, tuple(range(1, size + 1)))
    layout = new_layout(table, rng=random.Random(0))
    assert layout.stripe == expected and layout.chunk_size == DEFAULT_CHUNK_SIZE


@pytest.mark.parametrize(
    ("chunk_size", "stripe", "match"),
    [
        (3000, 1, "chunk_size 3000 is not a power of two"),
        (0, 1, "chunk_size 0 is not a power of two"),
        (-4096, 1, "not a power of two"),
        (MIN_CHUNK_SIZE // 2, 1, r"chunk_size 32768 is outside \[65536, 67108864\]"),
        (MAX_CHUNK_SIZE * 2, 1, "outside"),
        (DEFAULT_CHUNK_SIZE, 5, r"stripe 5 is outside \[1, 4\] \(chain table 1 v1\)"),
        (DEFAULT_CHUNK_SIZE, -1, "stripe -1"),
    ],
)
def test_new_layout_refuses_bad_requests(chunk_size, stripe, match):
    table = ChainTable(1, 1, (1, 2, 3, 4))
    with invalid(match) as caught:
        new_layout(table, chunk_size=chunk_size, stripe=stripe, rng=random.Random(0))
    assert caught.value.code is Code.INVALID_ARGUMENT


def test_new_layout_on_an_empty_table_is_chain_unavailable():
    with pytest.raises(FlyfsError, match="chain table 1 v1 has no chains") as caught:
        new_layout(ChainTable(1, 1, ()), rng=random.Random(0))
    assert caught.value.code is Code.CHAIN_UNAVAILABLE


def test_file_chains_wrap_around_and_are_pinned():
    table = [10, 20, 30, 40, 50, 60]
    layout = common_pb2.Layout(chunk_size=MIN_CHUNK_SIZE, stripe=4, chain_base=4, shuffle_seed=42)
    # Consecutive from base 4, wrapping: [50, 60, 10, 20]; shuffled by seed 42.
    chains = file_chains(layout, table)
    assert chains == [10, 50, 20, 60]
    assert [chain_of_chunk(layout, chains, i) for i in range(6)] == [10, 50, 20, 60, 10, 50]


def test_pinned_chain_ids_override_the_table():
    layout = common_pb2.Layout(chunk_size=MIN_CHUNK_SIZE, stripe=2, chain_ids=[7, 3])
    assert file_chains(layout, []) == [7, 3]
    layout.stripe = 3
    with invalid("stripe 3 but 2 pinned chain ids"):
        file_chains(layout, [])


def test_file_chains_refuse_a_layout_that_does_not_fit_the_table():
    with invalid("stripe 3 is outside"):
        file_chains(common_pb2.Layout(stripe=3), [1, 2])
    with invalid("stripe 0 is outside"):
        file_chains(common_pb2.Layout(stripe=0), [1, 2])
    with invalid("chain_base 2 is past"):
        file_chains(common_pb2.Layout(stripe=1, chain_base=2), [1, 2])
    with invalid("chunk index -1"):
        chain_of_chunk(common_pb2.Layout(stripe=1), [1], -1)


def test_chains_spread_evenly_over_the_table():
    table = ChainTable(1, 1, tuple(range(1, 13)))
    rng = random.Random(2024)
    load: Counter[int] = Counter()
    first: Counter[int] = Counter()
    for _ in range(10_000):
        chains = file_chains(new_layout(table, rng=rng), table.chain_ids)
        assert len(set(chains)) == DEFAULT_STRIPE
        load.update(chains)
        first[chains[0]] += 1
    expected = 10_000 * DEFAULT_STRIPE / 12
    assert set(load) == set(table.chain_ids)
    assert all(abs(n - expected) <= 0.15 * expected for n in load.values()), load
    # The shuffle spreads chunk 0 (every file has one) as evenly.
    assert all(abs(n - 10_000 / 12) <= 0.15 * 10_000 / 12 for n in first.values()), first


# --- chunk pieces ------------------------------------------------------------


def test_chunk_range_examples():
    layout = common_pb2.Layout(chunk_size=MIN_CHUNK_SIZE)
    c = MIN_CHUNK_SIZE
    assert list(chunk_range(layout, 0, 0)) == []
    assert list(chunk_range(layout, c, 0)) == []
    assert list(chunk_range(layout, 0, c)) == [ChunkPiece(0, 0, c)]
    assert list(chunk_range(layout, c, c)) == [ChunkPiece(1, 0, c)]
    assert list(chunk_range(layout, c - 1, 2)) == [ChunkPiece(0, c - 1, 1), ChunkPiece(1, 0, 1)]
    assert list(chunk_range(layout, 10, 2 * c)) == [
        ChunkPiece(0, 10, c - 10),
        ChunkPiece(1, 0, c),
        ChunkPiece(2, 0, 10),
    ]
    last = chunk_range(layout, c * MAX_INDEX, c)
    assert list(last) == [ChunkPiece(MAX_INDEX, 0, c)]


@given(
    chunk_sizes,
    st.integers(0, 1 << 40),
    st.one_of(st.integers(0, 1 << 28), st.sampled_from([0, 1, MIN_CHUNK_SIZE])),
    st.booleans(),
)
def test_chunk_range_covers_exactly(chunk_size, offset, length, align):
    if align:
        offset -= offset % chunk_size
    layout = common_pb2.Layout(chunk_size=chunk_size)
    pos = offset
    for piece in chunk_range(layout, offset, length):
        assert piece.index * chunk_size + piece.offset == pos
        assert 0 <= piece.offset < chunk_size
        assert 0 < piece.length <= chunk_size - piece.offset
        pos += piece.length
    assert pos == offset + length


@pytest.mark.parametrize(
    ("chunk_size", "offset", "length", "match"),
    [
        (MIN_CHUNK_SIZE, -1, 1, "negative"),
        (MIN_CHUNK_SIZE, 0, -1, "negative"),
        (MIN_CHUNK_SIZE, MIN_CHUNK_SIZE * MAX_INDEX, MIN_CHUNK_SIZE + 1, "past the largest file"),
        (0, 0, 1, "chunk_size 0 is not a power of two"),
    ],
)
def test_chunk_range_refuses_bad_ranges_when_called(chunk_size, offset, length, match):
    with invalid(match):
        chunk_range(common_pb2.Layout(chunk_size=chunk_size), offset, length)


@given(st.integers(0, 1 << 26), chunk_sizes)
def test_chunk_count_matches_chunk_range(length, chunk_size):
    pieces = list(chunk_range(common_pb2.Layout(chunk_size=chunk_size), 0, length))
    assert chunk_count(length, chunk_size) == len(pieces)


def test_chunk_count_refuses_bad_input():
    assert chunk_count(0, MIN_CHUNK_SIZE) == 0
    assert chunk_count(MIN_CHUNK_SIZE + 1, MIN_CHUNK_SIZE) == 2
    with invalid("length -1"):
        chunk_count(-1, MIN_CHUNK_SIZE)
    with invalid("not a power of two"):
        chunk_count(1, 3000)
