"""`flyfs://HOST:PORT/path` URLs: the netloc names the cluster (mgmtd), the rest the path.

`flyfs:///path` (no netloc) means the default cluster (DESIGN.md "Cluster
addressing").  A netloc that is not `host:port` is refused rather than read
as the first path component, because `flyfs://data/x.bin` is almost always
a typo of `flyfs:///data/x.bin`, and silently reading `/x.bin` of the
default cluster would be worse than an error.
"""

from __future__ import annotations

import posixpath

from fsspec.utils import stringify_path

PROTOCOL = "flyfs"
_PREFIX = PROTOCOL + "://"
_CHAINED = PROTOCOL + "::"


def split_url(url: str) -> tuple[str | None, str]:
    """`(mgmtd address or None, absolute path)`; ValueError for a netloc that is no address."""
    text = stringify_path(url)
    netloc = None
    if text.startswith(_PREFIX):
        netloc, _, text = text[len(_PREFIX) :].partition("/")
        if netloc:
            host, sep, port = netloc.rpartition(":")
            if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(
                    f"{url!r}: the part after flyfs:// must be the cluster's mgmtd HOST:PORT,"
                    f" not {netloc!r}; write flyfs:///{netloc}/{text} for a path on the"
                    " default cluster"
                )
        netloc = netloc or None
    elif text.startswith(_CHAINED):
        text = text[len(_CHAINED) :]
    return netloc, normalize(text)


def normalize(path: str) -> str:
    """An absolute path without `.`, `..`, repeated or trailing slashes (`/` for the root)."""
    return posixpath.normpath("/" + path).replace("//", "/")
