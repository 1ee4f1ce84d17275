"""The data plane: binary frames over persistent TCP, for every flyfs process.

Servers (storage) serve with :class:`DataServer`; callers (client, meta,
storage forwarding) use :class:`ConnectionPool` or a single
:class:`Connection`. See DESIGN.md "Two planes".
"""

from flyfs.net.buffers import BufferPool
from flyfs.net.client import Connection
from flyfs.net.handshake import check_peer, identity, raise_for_status
from flyfs.net.pool import ConnectionPool
from flyfs.net.sender import NO_SENDFILE_ENV, FileRegion
from flyfs.net.server import DataServer, Handler, Peer, Reply, error_reply

__all__ = [
    "NO_SENDFILE_ENV",
    "BufferPool",
    "Connection",
    "ConnectionPool",
    "DataServer",
    "FileRegion",
    "Handler",
    "Peer",
    "Reply",
    "check_peer",
    "error_reply",
    "identity",
    "raise_for_status",
]
