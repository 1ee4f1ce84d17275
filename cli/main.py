"""Entry point of the `flyfs` console script.

Each subcommand is a module in `flyfs.cli`, listed in :data:`COMMANDS` with
its one-line help.  A command's module is imported only when that command
runs, so `flyfs --help` stays fast and never pulls in torch or gRPC.  A
command module defines::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int | None: ...   # None means 0

Failures are reported here, once: an OSError (every FlyfsError is one)
becomes one stderr line, ``flyfs: <path>: <message> (<ERRNO>)``, and an exit
code from :class:`ExitCode`; any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from flyfs import __version__


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the operation failed (the stderr line says why)
    USAGE = 2  # bad command line (argparse's own code)
    UNREACHABLE = 3  # the cluster could not be reached (connection refused, reset, unreachable)
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


@dataclass(frozen=True)
class Command:
    module: str  # imported only when the command runs
    help: str


COMMANDS: dict[str, Command] = {
    "admin": Command("flyfs.cli.admin", "administration: fsck, create-chains"),
    "cluster": Command("flyfs.cli.cluster", "a local cluster on 127.0.0.1: up, status, down"),
    "df": Command("flyfs.cli.df", "storage targets' state and space, chains, totals"),
    "ls": Command("flyfs.cli.ls", "list files and directories (-l sizes and times, -R below)"),
    "stat": Command("flyfs.cli.stat", "everything known about a path"),
    "cat": Command("flyfs.cli.cat", "write files to stdout"),
    "put": Command("flyfs.cli.put", "copy local files to the cluster (-r directories)"),
    "get": Command("flyfs.cli.get", "copy files from the cluster to local paths (-r directories)"),
    "cp": Command("flyfs.cli.cp", "copy within the cluster (-r directories)"),
    "mv": Command("flyfs.cli.mv", "move or rename within the cluster"),
    "rm": Command("flyfs.cli.rm", "remove files (-r directories)"),
    "mkdir": Command("flyfs.cli.mkdir", "create directories (-p parents)"),
    "du": Command("flyfs.cli.du", "bytes used below paths"),
    "trainer": Command("flyfs.cli.trainer", "the workload: prepare a corpus, train, generate"),
}


def main(argv: Sequence[str] | None = None, commands: Mapping[str, Command] | None = None) -> int:
    """Run `flyfs` with `argv` (default sys.argv[1:]) and return its exit code.

    `commands` replaces the registry (tests pass their own).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS if commands is None else commands
    parser = _parser(commands, _command_name(argv, commands))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(args.run(args) or ExitCode.OK)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`flyfs cat x | head`): stop quietly, and keep
        # Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.FAILED
    except OSError as exc:
        print(f"flyfs: {describe_error(exc)}", file=sys.stderr)
        return ExitCode.UNREACHABLE if isinstance(exc, ConnectionError) else ExitCode.FAILED


def describe_error(exc: OSError) -> str:
    """`<path>: <message> (<ERRNO>)`, leaving out the parts `exc` does not have."""
    parts = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(parts) + ": " if parts else ""
    name = errno.errorcode.get(exc.errno) if isinstance(exc.errno, int) else None
    suffix = f" ({name})" if name else ""
    return f"{where}{exc.strerror or exc}{suffix}"


def _command_name(argv: list[str], commands: Mapping[str, Command]) -> str | None:
    """The command argv names: the first non-option word (top-level options take no value)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in commands else None


def _parser(commands: Mapping[str, Command], chosen: str | None) -> argparse.ArgumentParser:
    """The full parser, where only the chosen command's module is imported for its arguments."""
    parser = argparse.ArgumentParser(
        prog="flyfs", description="flyfs: a distributed file system for AI workloads."
    )
    parser.add_argument("--version", action="version", version=f"flyfs {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name, command in commands.items():
        command_parser = sub.add_parser(name, help=command.help, description=command.help)
        if name == chosen:
            module = importlib.import_module(command.module)
            module.add_arguments(command_parser)
            command_parser.set_defaults(run=module.run)
    return parser


if __name__ == "__main__":
    sys.exit(main())
