"""The `flyfs` command: version, help, lazy commands, error lines and exit codes."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flyfs
from flyfs.cli.main import COMMANDS, Command, ExitCode, describe_error, main

BIN = Path(sys.executable).parent

FAKE_COMMAND = textwrap.dedent(
    """
    import errno
    from flyfs import errors

    def add_arguments(parser):
        parser.add_argument("outcome")

    def run(args):
        if args.outcome == "ok":
            print("done")
            return None
        if args.outcome == "code":
            return 5
        if args.outcome == "missing":
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/local/x")
        if args.outcome == "flyfs":
            raise errors.error(errors.Code.NOT_FOUND, "no such inode", "/data/x")
        if args.outcome == "rename":
            raise OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")
        if args.outcome == "refused":
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused", "127.0.0.1:1")
        if args.outcome == "interrupt":
            raise KeyboardInterrupt
        if args.outcome == "flood":
            for _ in range(100_000):
                print("x" * 99)
            return None
        raise ValueError("a bug")
    """
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def fake_commands(tmp_path: Path, monkeypatch) -> dict[str, Command]:
    (tmp_path / "flyfs_fake_cmd.py").write_text(FAKE_COMMAND)
    (tmp_path / "flyfs_other_cmd.py").write_text("raise AssertionError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("flyfs_fake_cmd", "flyfs_other_cmd"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return {
        "fake": Command("flyfs_fake_cmd", "a command for tests"),
        "other": Command("flyfs_other_cmd", "must never be imported"),
    }


def test_version_from_the_console_script() -> None:
    result = run_cli(str(BIN / "flyfs"), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"flyfs {flyfs.__version__}\n"


@pytest.mark.parametrize("module", ["flyfs.cli", "flyfs.cli.main"])
def test_help_as_a_module(module: str) -> None:
    result = run_cli(sys.executable, "-m", module, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: flyfs")
    assert "--version" in result.stdout and "commands:" in result.stdout


def test_help_imports_neither_torch_nor_grpc() -> None:
    probe = textwrap.dedent(
        """
        import sys
        from flyfs.cli.main import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        heavy = ("torch", "grpc", "google.protobuf")
        print(sorted(m for m in sys.modules if m.startswith(heavy)))
        """
    )
    result = run_cli(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_help_lists_commands_without_importing_them(fake_commands, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"], fake_commands)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "fake" in out and "a command for tests" in out and "must never be imported" in out
    assert "flyfs_fake_cmd" not in sys.modules


def test_only_the_chosen_command_is_imported(fake_commands, capsys) -> None:
    assert main(["fake", "ok"], fake_commands) == ExitCode.OK
    assert capsys.readouterr().out == "done\n"
    assert "flyfs_other_cmd" not in sys.modules
    assert main(["fake", "code"], fake_commands) == 5


@pytest.mark.parametrize(
    ("outcome", "line", "code"),
    [
        ("missing", "flyfs: /local/x: No such file or directory (ENOENT)", ExitCode.FAILED),
        (
            "flyfs",
            "flyfs: /data/x: No such file or directory: no such inode (ENOENT)",
            ExitCode.FAILED,
        ),
        ("rename", "flyfs: /a -> /b: Invalid cross-device link (EXDEV)", ExitCode.FAILED),
        ("refused", "flyfs: 127.0.0.1:1: Connection refused (ECONNREFUSED)", ExitCode.UNREACHABLE),
    ],
)
def test_os_errors_become_one_line_and_an_exit_code(
    fake_commands, capsys, outcome: str, line: str, code: ExitCode
) -> None:
    assert main(["fake", outcome], fake_commands) == code
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""


def test_interrupt_exits_130(fake_commands) -> None:
    assert main(["fake", "interrupt"], fake_commands) == ExitCode.INTERRUPTED == 130


def test_closed_stdout_stops_quietly(tmp_path: Path, fake_commands) -> None:
    # `flyfs cat x | head`: the reader leaves early; no traceback, no error line.
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "from flyfs.cli.main import Command, main\n"
        "sys.exit(main(['fake', 'flood'], {'fake': Command('flyfs_fake_cmd', '')}))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout.read(100) == b"x" * 99 + b"\n"
        proc.stdout.close()
        assert proc.wait(timeout=60) == ExitCode.FAILED
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        proc.stderr.close()


def test_bugs_keep_their_traceback(fake_commands) -> None:
    with pytest.raises(ValueError, match="a bug"):
        main(["fake", "bug"], fake_commands)


@pytest.mark.parametrize("argv", [["nosuch"], ["fake"], ["fake", "ok", "extra"], []])
def test_usage_errors_exit_2(fake_commands, capsys, argv: list[str]) -> None:
    try:
        code = main(argv, fake_commands)
    except SystemExit as exc:
        code = exc.code
    assert code == ExitCode.USAGE == 2
    assert "usage: flyfs" in capsys.readouterr().err


def test_describe_error_leaves_out_what_is_missing() -> None:
    assert describe_error(OSError("plain message")) == "plain message"
    assert describe_error(OSError(errno.EIO, "I/O error")) == "I/O error (EIO)"


def test_exit_code_table_is_pinned() -> None:
    # docs/interfaces.md documents these numbers; scripts depend on them.
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "FAILED": 1,
        "USAGE": 2,
        "UNREACHABLE": 3,
        "INTERRUPTED": 130,
    }
    assert all(cmd.module.startswith("flyfs.cli.") for cmd in COMMANDS.values())
