"""The one config loader: dataclass defaults < TOML file < ``FLYFS_*`` environment.

A component declares its config as a dataclass beside the code that reads it,
with typed defaults and units in the names (``lease_s``, ``port``); a field
whose type is itself a dataclass is a TOML section.  The environment overrides
the file so a launcher or a test can change one key without writing a file:
``FLYFS_<KEY>`` for a top-level field, ``FLYFS_<SECTION>_<KEY>`` inside a
section (upper-cased; ``kv.port`` is ``FLYFS_KV_PORT``).

Values are converted to the declared type, and a value that cannot be is an
``INVALID_ARGUMENT`` error naming the key and where the value came from.  An
unknown key in a file is a :class:`ConfigWarning`, not an error, so an older
binary still starts with a newer file (fsspec's ``set_conf_env`` habit).
Unknown ``FLYFS_*`` variables are not warned about: other things share the
prefix (``FLYFS_CLUSTER``, ``FLYFS_HOME``).

Supported field types: ``bool``, ``int``, ``float``, ``str``,
``pathlib.Path`` (``~`` expanded), ``list[X]`` and ``tuple[X, ...]`` of those
scalars (TOML arrays, or comma-separated in the environment), ``X | None``
(the empty string, in the file or the environment, means None) and nested
dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from flyfs import errors
from flyfs.errors import Code

T = TypeVar("T")

ENV_PREFIX = "FLYFS_"
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})
_SCALARS: tuple[type, ...] = (bool, int, float, str, Path)


class ConfigWarning(UserWarning):
    """An unknown key in a config file (a typo, or a key from a newer version)."""


def flyfs_home(env: Mapping[str, str] | None = None) -> Path:
    """Where the default cluster file and local clusters live: $FLYFS_HOME or ~/.flyfs."""
    env = os.environ if env is None else env
    return Path(env.get("FLYFS_HOME") or "~/.flyfs").expanduser()


def load_config(
    schema: type[T],
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> T:
    """Build `schema` from its defaults, then the TOML file at `path`, then `env` (os.environ)."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise TypeError(f"config schema must be a dataclass type, got {schema!r}")
    table: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = os.fspath(path)
        with open(path, "rb") as f:
            try:
                table = tomllib.load(f)
            except tomllib.TOMLDecodeError as exc:
                raise errors.error(
                    Code.INVALID_ARGUMENT, f"config file is not valid TOML: {exc}", source
                ) from exc
    loader = _Loader(os.environ if env is None else env, source)
    obj = loader.build(schema, None, table, "")
    for key in loader.unknown:
        warnings.warn(f"unknown config key {key!r} in {source}", ConfigWarning, stacklevel=2)
    return obj


@dataclasses.dataclass
class _Loader:
    env: Mapping[str, str]
    source: str
    unknown: list[str] = dataclasses.field(default_factory=list)
    env_keys: dict[str, str] = dataclasses.field(default_factory=dict)

    def build(self, cls: type[T], base: T | None, table: Mapping[str, Any], prefix: str) -> T:
        """One section: `base` (the field's default instance) with file and env overrides."""
        fields = [f for f in dataclasses.fields(cls) if f.init]
        hints = typing.get_type_hints(cls)
        names = {f.name for f in fields}
        self.unknown.extend(prefix + key for key in table if key not in names)
        overrides: dict[str, Any] = {}
        for f in fields:
            key = prefix + f.name
            tp = hints[f.name]
            if _is_section(tp):
                sub = table.get(f.name, {})
                if not isinstance(sub, dict):
                    raise _bad(key, "a table (section)", sub, self.source)
                sub_base = getattr(base, f.name) if base is not None else _default(f)
                overrides[f.name] = self.build(tp, sub_base, sub, key + ".")
                continue
            shape = _shape(tp, key)  # checked even when nothing overrides the default
            var = ENV_PREFIX + key.replace(".", "_").upper()
            if self.env_keys.setdefault(var, key) != key:
                raise TypeError(f"config keys {self.env_keys[var]} and {key} both read {var}")
            if var in self.env:
                overrides[f.name] = _from_env(self.env[var], shape, key, var)
            elif f.name in table:
                overrides[f.name] = _from_toml(table[f.name], shape, key, self.source)
        if base is not None:
            return dataclasses.replace(base, **overrides)
        missing = [prefix + f.name for f in fields if f.name not in overrides and _required(f)]
        if missing:
            raise errors.error(
                Code.INVALID_ARGUMENT,
                f"config keys {', '.join(missing)}: required, not set (in {self.source} or env)",
            )
        return cls(**overrides)


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default(f: dataclasses.Field[Any]) -> Any:
    """A section field's default instance, or None to build the section from scratch."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


class _Shape(typing.NamedTuple):
    optional: bool  # `X | None`
    container: type | None  # list or tuple of scalars, or None for one scalar
    scalar: type


def _shape(tp: Any, key: str) -> _Shape:
    """How to convert values for a field of type `tp`; TypeError for an unsupported type."""
    declared = tp
    optional = False
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(tp)) != 2:
            raise TypeError(f"config key {key}: type {tp!r}: only `X | None` unions are supported")
        optional, tp = True, args[0]
        origin = typing.get_origin(tp)
    if origin is list and len(typing.get_args(tp)) == 1:
        container, scalar = list, typing.get_args(tp)[0]
    elif origin is tuple and len(typing.get_args(tp)) == 2 and typing.get_args(tp)[1] is ...:
        container, scalar = tuple, typing.get_args(tp)[0]
    else:
        container, scalar = None, tp
    if scalar not in _SCALARS:
        raise TypeError(f"config key {key}: type {declared!r} is not supported")
    return _Shape(optional, container, scalar)


def _from_env(raw: str, shape: _Shape, key: str, var: str) -> Any:
    optional, container, scalar = shape
    if optional and raw == "":
        return None
    if container is None:
        return _scalar_from_env(raw, scalar, key, var)
    items = [item.strip() for item in raw.split(",")]
    return container(_scalar_from_env(item, scalar, key, var) for item in items if item)


def _scalar_from_env(raw: str, scalar: type, key: str, var: str) -> Any:
    if scalar is bool:
        word = raw.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    elif scalar in (int, float):
        try:
            return scalar(raw)
        except ValueError:
            pass
    elif scalar is Path:
        return Path(raw).expanduser()
    else:
        return raw
    raise _bad(key, _type_name(scalar), raw, f"from {var}")


def _from_toml(value: Any, shape: _Shape, key: str, source: str) -> Any:
    optional, container, scalar = shape
    if optional and value == "":
        return None
    if container is None:
        return _scalar_from_toml(value, scalar, key, source)
    if not isinstance(value, list):
        raise _bad(key, f"an array of {_type_name(scalar)}", value, f"from {source}")
    return container(_scalar_from_toml(item, scalar, key, source) for item in value)


def _scalar_from_toml(value: Any, scalar: type, key: str, source: str) -> Any:
    # TOML is typed, so no parsing here: only int → float widening. bool is an
    # int subclass in Python, so it is excluded from the numeric types by hand.
    if scalar is bool and isinstance(value, bool):
        return value
    if scalar is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if scalar is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if scalar is str and isinstance(value, str):
        return value
    if scalar is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise _bad(key, _type_name(scalar), value, f"from {source}")


def _type_name(scalar: type) -> str:
    return "path" if scalar is Path else scalar.__name__


def _bad(key: str, expected: str, got: Any, where: str) -> errors.FlyfsError:
    return errors.error(
        Code.INVALID_ARGUMENT, f"config key {key}: expected {expected}, got {got!r} ({where})"
    )


def dump_config(obj: Any) -> str:
    """TOML text that :func:`load_config` reads back to an equal object.

    tomllib only reads; this writer covers exactly the field types the loader
    accepts.  None is written as "" (TOML has no null; "" loads back as None).
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"dump_config needs a dataclass instance, got {obj!r}")
    lines: list[str] = []
    _dump_table(obj, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _dump_table(obj: Any, header: str, lines: list[str]) -> None:
    # A TOML table's own keys must come before its sub-tables' headers.
    if header:
        lines.extend(["", f"[{header}]"])
    sections = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            sections.append((f.name, value))
        else:
            lines.append(f"{f.name} = {_toml_value(value, f.name)}")
    for name, value in sections:
        _dump_table(value, f"{header}.{name}" if header else name, lines)


def _toml_value(value: Any, key: str) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (str, Path)):
        return _toml_string(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item, key) for item in value) + "]"
    raise TypeError(f"config key {key}: cannot write {type(value).__name__} {value!r} as TOML")


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    """A TOML basic string: quote, backslash and every control character escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
