"""DataPlaneChains: where meta's storage requests go, and retries after routing changes.

A fake storage client records requests and answers from a script; routing
is the real `flyfs.routing.Routing` over hand-built RoutingInfo.
"""

from __future__ import annotations

import asyncio

import pytest

from flyfs.errors import Code, FlyfsError, error
from flyfs.layout import chunk_id, inode_chunk_range
from flyfs.meta.data_plane import DataPlaneChains
from flyfs.proto import common_pb2, data_pb2, mgmtd_pb2
from flyfs.routing import Routing

SERVING = common_pb2.TARGET_STATE_SERVING
OFFLINE = common_pb2.TARGET_STATE_OFFLINE


def routing(version: int, chains: dict[int, list[int]], offline: set[int] = frozenset()) -> Routing:
    """Nodes 1-3 (data port 7001-7003) with targets 101-103; chains of those targets."""
    info = mgmtd_pb2.RoutingInfo(routing_version=version, cluster_id="t")
    for n in (1, 2, 3):
        info.nodes.add(node_id=n, data_address=f"127.0.0.1:{7000 + n}")
        info.targets.add(
            target_id=100 + n, node_id=n, public_state=OFFLINE if 100 + n in offline else SERVING
        )
    for chain_id, targets in chains.items():
        info.chains.add(chain_id=chain_id, chain_version=version, target_ids=targets)
    return Routing(info)


class FakeWatcher:
    def __init__(self, *versions: Routing):
        self.versions = list(versions)
        self.current = self.versions.pop(0)
        self.refreshes: list[int] = []

    async def refresh(self, min_version: int) -> Routing:
        self.refreshes.append(min_version)
        if self.versions:
            self.current = self.versions.pop(0)
        return self.current


class FakeClient:
    """Answers each request with `answer(address, header)`; records (address, header)."""

    def __init__(self, answer):
        self.answer = answer
        self.sent: list[tuple[tuple[str, int], data_pb2.RequestHeader]] = []

    async def call(self, address, header):
        self.sent.append((address, header))
        return self.answer(address, header)


def node(port: int) -> tuple[str, int]:
    return ("127.0.0.1", port)


def test_remove_goes_to_the_head_until_nothing_is_left():
    left = [3]

    def answer(address, header):
        left[0] -= 1
        return data_pb2.ResponseHeader(remove=data_pb2.RemoveResponse(removed=1000, more=left[0]))

    client = FakeClient(answer)
    chains = DataPlaneChains(client, FakeWatcher(routing(4, {1: [102, 103, 101]})))
    begin, end = inode_chunk_range(9)
    asyncio.run(chains.remove_range(1, begin, end))
    assert [a for a, _ in client.sent] == [node(7002)] * 3
    for _, header in client.sent:
        assert header.remove.chain == common_pb2.VersionedChainId(chain_id=1, chain_version=4)
        assert (header.remove.range_begin, header.remove.range_end) == (begin, end)
    assert len({h.remove.tag.request_id for _, h in client.sent}) == 3  # each a new request


def test_a_routing_error_refreshes_and_retries_at_the_new_head_with_the_same_tag():
    def answer(address, header):
        if address == node(7001):
            raise error(Code.CHAIN_VERSION_MISMATCH, "chain 1 is at version 2")
        return data_pb2.ResponseHeader()

    client = FakeClient(answer)
    watcher = FakeWatcher(
        routing(1, {1: [101, 102, 103]}), routing(2, {1: [102, 103, 101]}, offline={101})
    )
    chains = DataPlaneChains(client, watcher, first_wait_s=0.01)
    asyncio.run(chains.cut(1, chunk_id(9, 3), 17, 1 << 20))
    assert watcher.refreshes == [2]
    (first, one), (second, two) = client.sent
    assert (first, second) == (node(7001), node(7002))
    assert two.truncate.chain.chain_version == 2 and two.truncate.length == 17
    assert two.truncate.tag.request_id == one.truncate.tag.request_id
    assert two.truncate.tag.attempt == one.truncate.tag.attempt + 1


def test_retries_are_bounded_and_other_errors_are_not_retried():
    def unavailable(address, header):
        raise error(Code.TARGET_NOT_SERVING, "not serving")

    client = FakeClient(unavailable)
    chains = DataPlaneChains(
        client, FakeWatcher(routing(1, {1: [101]})), attempts=3, first_wait_s=0.001
    )
    with pytest.raises(FlyfsError) as raised:
        asyncio.run(chains.cut(1, chunk_id(9, 0), 1, 1 << 20))
    assert raised.value.code is Code.TARGET_NOT_SERVING and len(client.sent) == 3

    def refused(address, header):
        raise error(Code.BAD_RANGE, "no")

    client = FakeClient(refused)
    chains = DataPlaneChains(client, FakeWatcher(routing(1, {1: [101]})))
    with pytest.raises(FlyfsError):
        asyncio.run(chains.cut(1, chunk_id(9, 0), 1, 1 << 20))
    assert len(client.sent) == 1


def test_last_chunks_ask_each_tail_node_once():
    def answer(address, header):
        response = data_pb2.ResponseHeader()
        for q in header.query_last_chunk.queries:
            result = response.query_last_chunk.results.add()
            if q.chain.chain_id != 3:  # chain 3 holds none of the file
                result.chunk_id, result.length = chunk_id(q.inode_id, q.chain.chain_id), 10
        return response

    client = FakeClient(answer)
    table = {1: [101, 102, 103], 2: [102, 101, 103], 3: [103, 101, 102]}
    chains = DataPlaneChains(client, FakeWatcher(routing(1, table)))
    found = asyncio.run(chains.last_chunks([(1, 9), (2, 9), (3, 9)]))
    assert found == [(chunk_id(9, 1), 10), (chunk_id(9, 2), 10), None]
    by_node = {a: [q.chain.chain_id for q in h.query_last_chunk.queries] for a, h in client.sent}
    assert by_node == {node(7003): [1, 2], node(7002): [3]}


def test_a_failed_query_result_is_retried():
    calls = [0]

    def answer(address, header):
        calls[0] += 1
        response = data_pb2.ResponseHeader()
        result = response.query_last_chunk.results.add()
        if calls[0] == 1:
            result.status.code = Code.TARGET_NOT_SERVING
        return response

    client = FakeClient(answer)
    chains = DataPlaneChains(client, FakeWatcher(routing(1, {1: [101]})), first_wait_s=0.001)
    assert asyncio.run(chains.last_chunks([(1, 9)])) == [None]
    assert calls[0] == 2
