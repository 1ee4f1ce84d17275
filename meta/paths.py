"""Path rules: absolute POSIX paths, checked before anything touches the KV.

Refused with BAD_PATH (EINVAL): relative paths, empty components (`a//b`),
`.` and `..`, NUL bytes, text that is not valid UTF-8.  Refused with
NAME_TOO_LONG: a component over 255 bytes, a path over 4,096 bytes.  One
trailing slash is accepted (`/data/`), as POSIX accepts it for directories.
"""

from __future__ import annotations

from flyfs.errors import Code, error

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def encoded(path: object) -> bytes:
    if not isinstance(path, str):
        raise error(Code.BAD_PATH, f"a path must be a string, not {type(path).__name__}")
    try:
        return path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(Code.BAD_PATH, f"path is not valid UTF-8 ({exc.reason})", repr(path)) from exc


def split(path: str) -> list[str]:
    """The components of `path`; `/` is the empty list."""
    raw = encoded(path)
    if len(raw) > MAX_PATH_BYTES:
        raise error(
            Code.NAME_TOO_LONG, f"path of {len(raw)} bytes exceeds {MAX_PATH_BYTES}", path[:80]
        )
    if b"\x00" in raw:
        raise error(Code.BAD_PATH, "path contains a NUL byte", path.replace("\x00", "\\0"))
    if not path.startswith("/"):
        raise error(Code.BAD_PATH, "path must be absolute (start with /)", path)
    body = path[1:-1] if path.endswith("/") and len(path) > 1 else path[1:]
    if not body:
        return []
    names = body.split("/")
    for name in names:
        check_name(name, path)
    return names


def check_name(name: str, path: str) -> None:
    if name in ("", ".", ".."):
        shown = "an empty name" if not name else f"{name!r}"
        raise error(Code.BAD_PATH, f"path has {shown} as a component", path)
    size = len(name.encode())
    if size > MAX_NAME_BYTES:
        raise error(Code.NAME_TOO_LONG, f"name of {size} bytes exceeds {MAX_NAME_BYTES}", path)


def join(names: list[str]) -> str:
    return "/" + "/".join(names)
