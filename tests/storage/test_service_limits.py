"""The storage service's descriptor bounds, in process: what the fuzz test found."""

from __future__ import annotations

import asyncio
import time

import pytest
from storage_helpers import put
from storage_node import chain

from flyfs.errors import Code
from flyfs.layout import CHECKSUM_BLOCK as B
from flyfs.layout import chunk_id
from flyfs.proto import data_pb2
from flyfs.storage.config import StorageConfig
from flyfs.storage.placement import ConfiguredPlacement
from flyfs.storage.service import INLINE_RANGES, StorageService
from flyfs.storage.targets import Targets

CID = chunk_id(11, 0)


@pytest.fixture
def service(tmp_path):
    config = StorageConfig(
        targets=[str(tmp_path / "t1")], target_ids=[1], chain_ids=[1], fsync=False
    )
    targets = Targets(config)
    placement = ConfiguredPlacement(targets, config.chain_ids)
    svc = StorageService(
        targets, placement, io_threads=2, max_payload_bytes=1 << 30, max_read_fds=4
    )
    put(targets.by_id[1].store, CID, 0, bytes(4 * B))
    yield svc
    svc.close()


def read_request(*ranges: tuple[int, int]) -> data_pb2.ReadRequest:
    request = data_pb2.ReadRequest()
    for offset, length in ranges:
        request.ranges.add(chunk_id=CID, chain=chain(1), offset=offset, length=length)
    return request


def test_reads_past_the_fd_budget_are_unavailable_and_empty_ranges_cost_none(service) -> None:
    async def body() -> None:
        past_end = await service.read(read_request(*[(8 * B, 1)] * 100), memoryview(b""))
        assert service._read_fds == 0 and not past_end.parts  # no descriptor for nothing
        past_end.on_sent(None)

        reply = await service.read(read_request(*[(0, 1)] * 6), memoryview(b""))
        codes = [r.status.code for r in reply.header.read.results]
        assert codes == [0] * 4 + [Code.UNAVAILABLE] * 2
        assert service._read_fds == 4
        reply.on_sent(None)
        assert service._read_fds == 0

    asyncio.run(body())


def test_a_read_that_times_out_closes_what_its_thread_opened(service, monkeypatch) -> None:
    slow = service._open_ranges

    def open_slowly(request):
        time.sleep(0.2)
        return slow(request)

    monkeypatch.setattr(service, "_open_ranges", open_slowly)

    async def body() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                # More ranges than are opened inline: this batch goes to a thread.
                batch = read_request(*[(0, 1)] * (INLINE_RANGES + 1))
                await service.read(batch, memoryview(b""))
        for _ in range(100):  # bounded: the close runs as a loop callback
            if service._read_fds == 0:
                break
            await asyncio.sleep(0.01)
        assert service._read_fds == 0

    asyncio.run(body())
