"""ChunkIO alone, over a scripted storage client: failed reads and missing chunks.

A read spanning two nodes sends one batch to each.  When one answers an
error no other replica can fix, the read raises; the other batch must have
stopped by then, or its bytes would still land in the caller's buffer after
the caller took its buffer back.  And a chunk reads as zeros only when no
serving replica has it, each replica asked at most once.
"""

from __future__ import annotations

import asyncio

import pytest

from flyfs.client.chunk_io import ChunkIO
from flyfs.errors import Code, FlyfsError, error
from flyfs.proto import common_pb2
from flyfs.storage_client import RangeResult

CHUNK = 1 << 20


class OneReplicaEach:
    """Routing where chain `c` has one replica, target `10 * c`, on a node of its own."""

    version = 1

    def serving(self, chain_id: int) -> tuple[int, ...]:
        return (chain_id * 10,)

    def versioned(self, chain_id: int) -> common_pb2.VersionedChainId:
        return common_pb2.VersionedChainId(chain_id=chain_id, chain_version=1)

    def data_address(self, target_id: int) -> tuple[str, int]:
        return ("127.0.0.1", target_id)


class Source:
    current = OneReplicaEach()

    async def refresh(self, min_version: int = 0) -> OneReplicaEach:
        return self.current


class Storage:
    """Node 10 fails its ranges at once; node 20 is slow, then fills its destinations."""

    def __init__(self) -> None:
        self.finished = 0

    async def read(self, address, wanted, committed_on_pending=False) -> list[RangeResult]:
        if address[1] == 10:
            return [RangeResult(error=error(Code.INTERNAL, "disk says no")) for _ in wanted]
        await asyncio.sleep(0.05)
        for w in wanted:
            w.dest[: w.length] = b"Z" * w.length
        self.finished += 1
        return [RangeResult(length=w.length) for w in wanted]


def test_a_failed_read_stops_its_other_batches_before_it_raises() -> None:
    io = ChunkIO("cluster", Source())
    storage = Storage()
    io._client = lambda: storage  # type: ignore[method-assign]
    layout = common_pb2.Layout(chunk_size=CHUNK, stripe=2, chain_ids=[1, 2])
    buffer = bytearray(2 * CHUNK)

    async def body() -> None:
        with pytest.raises(FlyfsError) as failed:
            await io.read_into(7, layout, len(buffer), 0, memoryview(buffer))
        assert failed.value.code == Code.INTERNAL
        buffer[:] = b"A" * len(buffer)  # the caller reuses its buffer at once
        await asyncio.sleep(0.2)

    asyncio.run(body())
    assert storage.finished == 0
    assert buffer.count(b"A") == len(buffer)


class ThreeReplicas(OneReplicaEach):
    def serving(self, chain_id: int) -> tuple[int, ...]:
        return (chain_id * 10, chain_id * 10 + 1, chain_id * 10 + 2)


class Replicas:
    """Each replica's answer by target: "data", "absent" (CHUNK_NOT_FOUND for its range),
    "absent request" (the whole request CHUNK_NOT_FOUND) or "dead" (connection lost)."""

    def __init__(self, answers: dict[int, str]) -> None:
        self.answers = answers
        self.asked: list[int] = []

    async def read(self, address, wanted, committed_on_pending=False) -> list[RangeResult]:
        target = address[1]
        self.asked.append(target)
        answer = self.answers[target]
        if answer == "dead":
            raise error(Code.CONNECTION_LOST, f"target {target} is gone")
        if answer == "absent request":
            raise error(Code.CHUNK_NOT_FOUND, "no such chunk")
        if answer == "absent":
            return [RangeResult(error=error(Code.CHUNK_NOT_FOUND, "no such chunk")) for _ in wanted]
        for w in wanted:
            w.dest[: w.length] = b"D" * w.length
        return [RangeResult(length=w.length) for w in wanted]


@pytest.mark.parametrize(
    "answers",
    [
        {10: "absent", 11: "absent", 12: "absent"},
        {10: "absent request", 11: "absent request", 12: "absent request"},
        {10: "absent", 11: "data", 12: "absent"},
        {10: "absent", 11: "absent", 12: "data"},
        {10: "absent", 11: "dead", 12: "absent"},  # a hole waits for no dead node
        {10: "dead", 11: "absent", 12: "data"},
    ],
)
def test_a_chunk_is_a_hole_only_if_no_replica_has_it(answers: dict[int, str]) -> None:
    source = Source()
    source.current = ThreeReplicas()
    io = ChunkIO("cluster", source, retry_window_s=2.0)
    storage = Replicas(answers)
    io._client = lambda: storage  # type: ignore[method-assign]
    layout = common_pb2.Layout(chunk_size=CHUNK, stripe=1, chain_ids=[1])
    buffer = bytearray(b"?" * 1000)
    for turn in range(3):  # whichever replica the rotation asks first
        storage.asked.clear()
        buffer[:] = b"?" * len(buffer)
        asyncio.run(io.read_into(7, layout, len(buffer), 0, memoryview(buffer)))
        has_data = "data" in answers.values()
        assert bytes(buffer) == (b"D" if has_data else b"\0") * len(buffer), turn
        assert len(storage.asked) == len(set(storage.asked)) <= 3  # each replica asked once
