"""The fsspec filesystem `flyfs://` and the KV-cache store (issues 7, 10).

`fsspec.filesystem("flyfs")` finds :class:`FlyfsFileSystem` through the
`fsspec.specs` entry point in pyproject.toml.

Importing this package turns on gRPC's fork support
(`GRPC_ENABLE_FORK_SUPPORT=1`) unless the variable is already set: gRPC
reads it once, when it is first imported, and without it a process forked
from one that used gRPC (a DataLoader worker) can hang in its first call.
So import `flyfs.client` (or let fsspec do it) before anything imports
`grpc`, or set the variable yourself; `client.forking` logs a warning when
it finds fork support off.
"""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "1")

from .filesystem import FlyfsFileSystem  # after the variable is set
from .kvcache import KVCacheStore, page_keys

__all__ = ["FlyfsFileSystem", "KVCacheStore", "page_keys"]
