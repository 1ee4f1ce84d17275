"""Storage stand-ins for meta's unit tests: chains as dictionaries."""

from __future__ import annotations

from flyfs.layout import chain_of_chunk, chunk_id, parse_chunk_id
from flyfs.meta.file_chunks import FileChunks
from flyfs.proto import meta_pb2


class FakeChains:
    """Chains as dicts chunk id -> length; records every request it gets."""

    def __init__(self) -> None:
        self.chunks: dict[int, dict[bytes, int]] = {}
        self.calls: list[tuple] = []

    def put(self, chain: int, cid: bytes, length: int) -> None:
        self.chunks.setdefault(chain, {})[cid] = length

    async def remove_range(self, chain_id: int, begin: bytes, end: bytes) -> None:
        self.calls.append(("remove", chain_id))
        held = self.chunks.get(chain_id, {})
        for cid in [c for c in held if begin <= c < end]:
            del held[cid]

    async def cut(self, chain_id: int, cid: bytes, length: int, chunk_size: int) -> None:
        self.calls.append(("cut", chain_id, parse_chunk_id(cid).index, length))
        self.put(chain_id, cid, length)

    async def last_chunks(self, queries):
        self.calls.append(("last", len(queries)))
        found = []
        for chain_id, inode in queries:
            mine = sorted(c for c in self.chunks.get(chain_id, {}) if c[:8] == inode.to_bytes(8))
            found.append((mine[-1], self.chunks[chain_id][mine[-1]]) if mine else None)
        return found


def write_file(storage: FakeChains, chunks: FileChunks, inode: meta_pb2.Inode, size: int) -> None:
    """Write bytes `[0, size)` of `inode` on the fake chains (a write never shrinks a chunk)."""
    chains = chunks.chains(inode.layout)
    cs = inode.layout.chunk_size
    for index in range(-(-size // cs)):
        chain = chain_of_chunk(inode.layout, chains, index)
        cid = chunk_id(inode.id, index)
        old = storage.chunks.get(chain, {}).get(cid, 0)
        storage.put(chain, cid, max(old, min(cs, size - index * cs)))
