"""Resync installs into a SYNCING target, in process: who may send them and which win."""

from __future__ import annotations

import asyncio

import pytest

from flyfs.checksums import crc32c
from flyfs.errors import Code, FlyfsError
from flyfs.layout import chunk_id
from flyfs.proto import common_pb2, data_pb2
from flyfs.storage.chunk_meta import ChunkInfo
from flyfs.storage.config import StorageConfig
from flyfs.storage.craq import ChainView
from flyfs.storage.service import StorageService
from flyfs.storage.targets import Target, Targets

CID = chunk_id(21, 0)
SIZE = 1 << 20
VERSION = 5  # the chain's version while target 2 is SYNCING after target 1


class SyncingPlacement:
    """Chain 1 as target 2's node sees it: target 1 serves, target 2 is resynced."""

    def __init__(self, targets: Targets) -> None:
        self.target = targets.by_id[2]

    def locate(self, chain: common_pb2.VersionedChainId) -> tuple[Target, ChainView]:
        return self.target, ChainView(1, VERSION, (1,), syncing=2)

    def address_of(self, target_id: int) -> tuple[str, int]:
        raise AssertionError("a syncing target forwards nothing")

    def behind(self, chain: common_pb2.VersionedChainId) -> bool:
        return False

    async def catch_up(self) -> None:
        return None


@pytest.fixture
def service(tmp_path):
    config = StorageConfig(targets=[str(tmp_path / "t2")], target_ids=[2], fsync=False)
    targets = Targets(config)
    svc = StorageService(targets, SyncingPlacement(targets), 2, 1 << 30)
    yield svc
    svc.close()


def write(data: bytes, *, version: int, install_chain_ver: int = 0, sender: int = 1):
    """A forward (full-chunk replace) or, with `install_chain_ver`, a resync install."""
    request = data_pb2.WriteRequest(
        chunk_id=CID, offset=0, length=len(data), chunk_size=SIZE, from_target_id=sender
    )
    request.chain.chain_id, request.chain.chain_version = 1, VERSION
    request.payload_crc32c = crc32c(data)
    request.full_chunk_replace = True
    if install_chain_ver:
        info = ChunkInfo(CID, version, version, install_chain_ver, len(data), SIZE, ())
        request.install.CopyFrom(info.to_proto(with_block_checksums=False))
    else:
        request.update_ver = version
    return request, memoryview(data)


def state(service: StorageService) -> tuple[int, int, bytes]:
    store = service.targets.by_id[2].store
    info = store.meta(CID)
    return info.commit_ver, info.chain_ver, store.read(CID, 0, info.length)


def test_installs_replace_stale_copies_but_never_a_newer_forward(service) -> None:
    async def body() -> None:
        store = service.targets.by_id[2].store
        # A copy left from before the node went away: high version, old chain version.
        store.install(ChunkInfo(CID, 7, 7, 1, 7, SIZE, ()), b"garbage")
        await service.write(*write(b"pushed v2", version=2, install_chain_ver=4))
        assert state(service) == (2, 4, b"pushed v2")  # installed exactly, garbage gone
        await service.write(*write(b"forwarded v3", version=3))
        assert state(service) == (3, VERSION, b"forwarded v3")
        with pytest.raises(FlyfsError) as late:  # sent before v3, arriving after it
            await service.write(*write(b"late v2", version=2, install_chain_ver=4))
        assert late.value.code == Code.STALE_VERSION
        assert state(service) == (3, VERSION, b"forwarded v3")
        with pytest.raises(FlyfsError) as stranger:  # only the predecessor pushes
            await service.write(*write(b"x", version=9, install_chain_ver=4, sender=3))
        assert stranger.value.code == Code.ROUTING_STALE
        assert state(service) == (3, VERSION, b"forwarded v3")

    asyncio.run(body())
