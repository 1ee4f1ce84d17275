"""A chunk staged at the serving tail under the old chain while its successor turns SYNCING.

The race (seen once in CI as torn reads after a node came back): a plan at
the tail takes its view (no successor) and stages a new chunk slowly (an
fsync under load); meanwhile routing makes a target SYNCING behind it and
the resync lists the tail's chunks, without the chunk still being staged.
Committed under the old view, the chunk was never forwarded nor pushed, and
the resynced target became SERVING without it: reads there were holes.

In process: two real StorageServices (tail 3, syncing 4) joined by a
loopback forwarder, the real Resyncer, and a Stage held back by an Event.
"""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from flyfs.checksums import crc32c
from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id
from flyfs.proto import common_pb2, data_pb2, mgmtd_pb2
from flyfs.storage.config import StorageConfig
from flyfs.storage.craq import ChainView, Outcome
from flyfs.storage.forwarding import update_request
from flyfs.storage.resync import Resyncer
from flyfs.storage.service import StorageService
from flyfs.storage.targets import Target, Targets

CHAIN = 9
SIZE = 1 << 20
CLIENT = b"c" * 16
OLD = ChainView(CHAIN, 1, (1, 2, 3))  # 3 is the serving tail
SYNCING = ChainView(CHAIN, 2, (1, 2, 3), syncing=4)  # 4 is resynced behind it
SERVED = ChainView(CHAIN, 3, (1, 2, 3, 4))  # 4 serves
LISTED = chunk_id(50, 0)  # committed on the tail before the resync
RACED = chunk_id(51, 0)  # staged while the resync lists


class Placement:
    """One local target; its chain's view is whatever the test sets."""

    def __init__(self, target: Target, view: ChainView) -> None:
        self.target, self.view = target, view

    def locate(self, chain: common_pb2.VersionedChainId) -> tuple[Target, ChainView]:
        return self.target, self.view

    def address_of(self, target_id: int) -> tuple[str, int]:
        return ("node", target_id)

    def behind(self, chain: common_pb2.VersionedChainId) -> bool:
        return False

    async def catch_up(self) -> None:
        return None


class Loopback:
    """A Forwarder handing requests to in-process services."""

    def __init__(self) -> None:
        self.services: dict[tuple[str, int], StorageService] = {}

    async def call(self, address, header, payload=None) -> data_pb2.ResponseHeader:
        reply = await self.services[address].handle(None, header, memoryview(payload or b""))
        return reply.header

    async def send(self, address, update, chain_id) -> Outcome:
        header, payload = update_request(update, chain_id)
        answer = (await self.call(address, header, payload)).write
        return Outcome(answer.update_ver, answer.commit_ver, answer.chunk_length, answer.duplicate)


class Addresses:
    def data_address(self, target_id: int) -> tuple[str, int]:
        return ("node", target_id)


def from_middle(cid: bytes, data: bytes, chain_version: int, sequence: int, retry=False):
    """Version 1 of a new chunk, as middle target 2 forwards it to the tail."""
    header = data_pb2.RequestHeader()
    w = header.write
    w.chunk_id, w.offset, w.length, w.chunk_size = cid, 0, len(data), SIZE
    w.from_target_id, w.update_ver, w.payload_crc32c = 2, 1, crc32c(data)
    w.chain.chain_id, w.chain.chain_version = CHAIN, chain_version
    w.tag.client_id, w.tag.sequence, w.tag.attempt = CLIENT, sequence, int(retry)
    return header, memoryview(data)


async def read_at(service: StorageService, cid: bytes, view: ChainView) -> data_pb2.ReadResult:
    header = data_pb2.RequestHeader()
    header.read.ranges.add(
        chunk_id=cid,
        chain=common_pb2.VersionedChainId(chain_id=CHAIN, chain_version=view.version),
        offset=0,
        length=SIZE,
    )
    reply = await service.handle(None, header, memoryview(b""))
    if reply.on_sent:
        reply.on_sent(None)
    [result] = reply.header.read.results
    return result


def test_a_chunk_staged_under_the_old_chain_reaches_the_resynced_target(tmp_path) -> None:
    config = StorageConfig(
        targets=[str(tmp_path / "t3"), str(tmp_path / "t4")], target_ids=[3, 4], fsync=False
    )
    targets = Targets(config)
    tail_target, synced_target = targets.by_id[3], targets.by_id[4]
    net = Loopback()
    tail_place = Placement(tail_target, OLD)
    synced_place = Placement(synced_target, SYNCING)
    tail = StorageService(targets, tail_place, 4, 1 << 30, forwarder=net)
    synced = StorageService(targets, synced_place, 4, 1 << 30, forwarder=net)
    net.services = {("node", 3): tail, ("node", 4): synced}
    listed, raced = os.urandom(SIZE), os.urandom(SIZE)

    async def scenario() -> None:
        await tail.handle(None, *from_middle(LISTED, listed, OLD.version, 1))

        staging, release = threading.Event(), threading.Event()
        write = tail_target.store.write

        def slow_write(cid, *args, **kwargs):
            if bytes(cid) == RACED:
                staging.set()
                assert release.wait(10)
            return write(cid, *args, **kwargs)

        tail_target.store.write = slow_write
        plan = asyncio.create_task(tail.handle(None, *from_middle(RACED, raced, OLD.version, 2)))
        assert await asyncio.to_thread(staging.wait, 10)  # the plan holds the old view

        tail_place.view = SYNCING  # routing moves on; the resync runs and finishes
        resync = Resyncer(targets, Addresses, lambda: None, tail.chunk_locks, net, tail.in_io)
        await resync._push_all(tail_target, (CHAIN, SYNCING.version, 4), mgmtd_pb2.SyncProgress())
        assert synced_target.synced_chain_version == SYNCING.version
        assert synced_target.store.meta(LISTED) is not None

        release.set()
        with pytest.raises(FlyfsError) as refused:  # no commit under a view that is not the chain's
            await plan
        assert refused.value.code == Code.CHAIN_VERSION_MISMATCH
        info = tail_target.store.meta(RACED)
        assert info is not None and info.pending and info.commit_ver == 0

        # The writer's retry comes under the new chain: forwarded on to the SYNCING target.
        again = await tail.handle(None, *from_middle(RACED, raced, SYNCING.version, 2, True))
        assert again.header.write.commit_ver == 1
        assert synced_target.store.read(RACED, 0, SIZE) == raced

        tail_place.view = synced_place.view = SERVED
        for service in (tail, synced):
            result = await read_at(service, RACED, SERVED)
            assert result.status.code == 0 and result.length == SIZE

    try:
        asyncio.run(scenario())
    finally:
        tail.close()
        synced.close()
