"""flyfs.config: precedence, conversion, clear errors, warnings, and the TOML writer."""

from __future__ import annotations

import math
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flyfs.config import ConfigWarning, dump_config, flyfs_home, load_config
from flyfs.errors import Code, FlyfsError


@dataclass(frozen=True)
class KvSection:
    engine: str = "sqlite"
    port: int = 7001
    timeout_s: float = 5.0


@dataclass(frozen=True)
class RetrySection:
    attempts: int = 3


@dataclass(frozen=True)
class ClientSection:
    lease_s: float = 30.0
    retry: RetrySection = field(default_factory=RetrySection)


@dataclass(frozen=True)
class ServerConfig:
    name: str = "meta"
    port: int = 0
    lease_s: float = 10.0
    verbose: bool = False
    data_dir: Path = Path("/var/lib/flyfs")
    log_path: Path | None = None
    limit: int | None = 8
    peers: list[str] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    kv: KvSection = field(default_factory=KvSection)
    client: ClientSection = field(default_factory=ClientSection)


@dataclass
class TunedDefaults:
    kv: KvSection = field(default_factory=lambda: KvSection(port=9000))


@dataclass
class NeedsId:
    cluster_id: str
    port: int = 1


@dataclass
class Clashing:
    kv_port: int = 1
    kv: KvSection = field(default_factory=KvSection)


@dataclass
class Unsupported:
    table: dict[str, int] = field(default_factory=dict)


@dataclass
class OneString:
    text: str = ""


@dataclass
class OneFloat:
    value: float = 0.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(text)
    return path


def test_defaults_when_nothing_is_set() -> None:
    assert load_config(ServerConfig, env={}) == ServerConfig()


def test_file_overrides_defaults_and_env_overrides_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'name = "meta-1"\nport = 7000\n[kv]\nport = 7100\nengine = "foundationdb"\n'
        "[client.retry]\nattempts = 5\n",
    )
    config = load_config(ServerConfig, path, env={"FLYFS_PORT": "7200", "FLYFS_KV_PORT": "7300"})
    assert config.name == "meta-1"  # file
    assert config.port == 7200  # env beats file
    assert config.kv.port == 7300  # env beats file, in a section
    assert config.kv.engine == "foundationdb"  # file, in a section
    assert config.kv.timeout_s == 5.0  # default, in a section
    assert config.lease_s == 10.0  # default
    assert config.client.retry.attempts == 5  # file, two levels deep
    assert config.client.lease_s == 30.0


def test_env_reaches_nested_sections() -> None:
    config = load_config(ServerConfig, env={"FLYFS_CLIENT_RETRY_ATTEMPTS": "9"})
    assert config.client.retry.attempts == 9


def test_section_keeps_its_fields_non_default_instance(tmp_path: Path) -> None:
    path = write(tmp_path, '[kv]\nengine = "foundationdb"\n')
    config = load_config(TunedDefaults, path, env={})
    assert config.kv == KvSection(engine="foundationdb", port=9000)


@pytest.mark.parametrize(
    ("var", "raw", "attr", "expected"),
    [
        ("FLYFS_VERBOSE", "1", "verbose", True),
        ("FLYFS_VERBOSE", "0", "verbose", False),
        ("FLYFS_VERBOSE", "TRUE", "verbose", True),
        ("FLYFS_VERBOSE", "false", "verbose", False),
        ("FLYFS_VERBOSE", "Yes", "verbose", True),
        ("FLYFS_VERBOSE", "no", "verbose", False),
        ("FLYFS_PORT", "7000", "port", 7000),
        ("FLYFS_LEASE_S", "2.5", "lease_s", 2.5),
        ("FLYFS_LEASE_S", "3", "lease_s", 3.0),
        ("FLYFS_NAME", " spaced ", "name", " spaced "),
        ("FLYFS_DATA_DIR", "/srv/flyfs", "data_dir", Path("/srv/flyfs")),
        ("FLYFS_LOG_PATH", "/tmp/x.log", "log_path", Path("/tmp/x.log")),
        ("FLYFS_LOG_PATH", "", "log_path", None),
        ("FLYFS_LIMIT", "", "limit", None),
        ("FLYFS_LIMIT", "12", "limit", 12),
        ("FLYFS_PEERS", "a:1, b:2,,c:3", "peers", ["a:1", "b:2", "c:3"]),
        ("FLYFS_PEERS", "", "peers", []),
        ("FLYFS_TAGS", "x,y", "tags", ("x", "y")),
    ],
)
def test_env_values_convert_to_declared_type(var: str, raw: str, attr: str, expected) -> None:
    value = getattr(load_config(ServerConfig, env={var: raw}), attr)
    assert value == expected
    assert type(value) is type(expected)


def test_file_values_convert_to_declared_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'lease_s = 3\ndata_dir = "~/flyfs-data"\nlog_path = ""\nlimit = ""\n'
        'peers = ["a:1", "b:2"]\ntags = ["t"]\nverbose = true\n',
    )
    config = load_config(ServerConfig, path, env={})
    assert config.lease_s == 3.0 and isinstance(config.lease_s, float)
    assert config.data_dir == Path.home() / "flyfs-data"
    assert config.log_path is None and config.limit is None
    assert config.peers == ["a:1", "b:2"] and config.tags == ("t",)
    assert config.verbose is True


@pytest.mark.parametrize(
    ("var", "raw", "fragment"),
    [
        (
            "FLYFS_KV_PORT",
            "abc",
            "config key kv.port: expected int, got 'abc' (from FLYFS_KV_PORT)",
        ),
        ("FLYFS_VERBOSE", "maybe", "config key verbose: expected bool, got 'maybe'"),
        ("FLYFS_LEASE_S", "10s", "config key lease_s: expected float, got '10s'"),
        ("FLYFS_LIMIT", "none", "config key limit: expected int, got 'none'"),
    ],
)
def test_bad_env_value_names_key_and_variable(var: str, raw: str, fragment: str) -> None:
    with pytest.raises(FlyfsError) as info:
        load_config(ServerConfig, env={var: raw})
    assert info.value.code == Code.INVALID_ARGUMENT
    assert isinstance(info.value, OSError)
    assert fragment in str(info.value)
    assert var in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('port = "7000"', "config key port: expected int, got '7000'"),
        ("port = true", "config key port: expected int, got True"),
        ("port = 1.5", "config key port: expected int, got 1.5"),
        ("verbose = 1", "config key verbose: expected bool, got 1"),
        ("lease_s = false", "config key lease_s: expected float, got False"),
        ("data_dir = 5", "config key data_dir: expected path, got 5"),
        ('peers = "a,b"', "config key peers: expected an array of str, got 'a,b'"),
        ("peers = [1, 2]", "config key peers: expected str, got 1"),
        ("kv = 5", "config key kv: expected a table (section), got 5"),
        ("[kv]\nport = 'x'", "config key kv.port: expected int, got 'x'"),
    ],
)
def test_bad_file_value_names_key_and_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(FlyfsError) as info:
        load_config(ServerConfig, path, env={})
    assert info.value.code == Code.INVALID_ARGUMENT
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port = = 1\n")
    with pytest.raises(FlyfsError) as info:
        load_config(ServerConfig, path, env={})
    assert info.value.code == Code.INVALID_ARGUMENT
    assert info.value.filename == str(path)
    assert "not valid TOML" in str(info.value)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(ServerConfig, tmp_path / "absent.toml", env={})


def test_unknown_file_keys_are_warned_not_fatal(tmp_path: Path) -> None:
    path = write(tmp_path, 'prot = 7000\nport = 7000\n[kv]\nenigne = "x"\n[extra]\nkey = 1\n')
    with pytest.warns(ConfigWarning) as record:
        config = load_config(ServerConfig, path, env={})
    assert config.port == 7000
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        f"unknown config key 'extra' in {path}",
        f"unknown config key 'kv.enigne' in {path}",
        f"unknown config key 'prot' in {path}",
    ]


def test_unknown_env_vars_are_not_warned() -> None:
    env = {"FLYFS_CLUSTER": "127.0.0.1:7000", "FLYFS_HOME": "/tmp/h", "FLYFS_NOPE": "1"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_config(ServerConfig, env=env) == ServerConfig()


def test_required_field_must_be_set(tmp_path: Path) -> None:
    with pytest.raises(FlyfsError, match="cluster_id: required"):
        load_config(NeedsId, env={})
    assert load_config(NeedsId, env={"FLYFS_CLUSTER_ID": "c1"}) == NeedsId("c1")


def test_schema_mistakes_are_type_errors() -> None:
    with pytest.raises(TypeError, match=r"kv_port and kv\.port both read FLYFS_KV_PORT"):
        load_config(Clashing, env={})
    with pytest.raises(TypeError, match=r"config key table: type .* is not supported"):
        load_config(Unsupported, env={})
    with pytest.raises(TypeError, match="dataclass type"):
        load_config(ServerConfig(), env={})  # type: ignore[arg-type]


def test_dump_then_load_round_trips(tmp_path: Path) -> None:
    original = ServerConfig(
        name='quote " backslash \\ tab \t newline \n bell \x07 del \x7f é 字',
        port=65535,
        lease_s=float("inf"),
        verbose=True,
        data_dir=tmp_path / "data dir",
        log_path=None,
        limit=None,
        peers=["127.0.0.1:7000", ""],
        tags=("a", "b"),
        kv=KvSection(engine="foundationdb", port=1, timeout_s=1e-7),
        client=ClientSection(lease_s=-0.0, retry=RetrySection(attempts=-3)),
    )
    text = dump_config(original)
    path = write(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_config(ServerConfig, path, env={}) == original
    assert "[kv]" in text and "[client.retry]" in text


def test_dump_writes_nan_and_refuses_unknown_types() -> None:
    assert math.isnan(tomllib.loads(dump_config(OneFloat(math.nan)))["value"])
    with pytest.raises(TypeError, match="config key table"):
        dump_config(Unsupported({"a": 1}))
    with pytest.raises(TypeError, match="dataclass instance"):
        dump_config(ServerConfig)


@given(st.text())
def test_any_string_round_trips(text: str) -> None:
    assert tomllib.loads(dump_config(OneString(text))) == {"text": text}


@given(st.floats(allow_nan=False))
def test_any_float_round_trips(value: float) -> None:
    assert tomllib.loads(dump_config(OneFloat(value))) == {"value": value}


def test_flyfs_home() -> None:
    assert flyfs_home({}) == Path.home() / ".flyfs"
    assert flyfs_home({"FLYFS_HOME": "/srv/flyfs"}) == Path("/srv/flyfs")
    assert flyfs_home({"FLYFS_HOME": "~/other"}) == Path.home() / "other"
