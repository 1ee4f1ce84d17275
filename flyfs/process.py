"""Process helpers every server and launcher uses.

The promises (DESIGN.md, "Cluster addressing and processes"): a server binds
port 0 or a configured port and says where it listens in a ready file; a
launcher waits for that file with a bound; a server that a test started dies
with the test, even one killed by SIGKILL; a server that `flyfs cluster up`
started outlives it on purpose; and stopping a server by pid never signals
another process that happens to reuse the pid.

Linux only: start times come from /proc, pids are pinned with pidfds.  This
module imports nothing but the standard library, so a server can call
:func:`die_with_parent` before its heavy imports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import errno
import inspect
import json
import logging
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

PARENT_FD_ENV = "FLYFS_PARENT_FD"
"""Names the read end of a pipe whose write end only the parent holds."""

_PR_SET_PDEATHSIG = 1
_KILL_WAIT_S = 5.0  # after SIGKILL only the kernel is left to wait for
_READY_POLL_MAX_S = 0.1
_TAIL_BYTES = 4096
_TAIL_LINES = 20


def bind_listener(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket; with port 0 the kernel picks a free port (read it back).

    SO_REUSEADDR lets a restarted server take its configured port back at
    once instead of waiting out TIME_WAIT.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen: {exc.strerror}", f"{host}:{port}") from exc
    return sock


def process_start_time(pid: int) -> int | None:
    """Kernel start time of `pid` in clock ticks since boot, or None if no such process.

    A pid is reused; (pid, start time) is not, so this pair names a process.
    """
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def is_running(pid: int, start_time: int) -> bool:
    """Whether the process (pid, start time) runs: exists, not reused, not a zombie.

    A detached server is a zombie for a moment after it exits, until init
    reaps it; it must not count as running then.
    """
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != b"Z" and int(fields[19]) == start_time


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (all its threads); 0 if it is gone."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[bytes] | None:
    """Fields 3 and on of /proc/<pid>/stat (field 3, the state, is item 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 2 is the command name in parentheses; it may itself hold ") ".
    return raw[raw.rindex(b")") + 2 :].split()


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Replace `path` with `obj` as JSON so a reader sees the old file or the new, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(obj, indent=2, sort_keys=True).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_ready_file(
    path: str | os.PathLike[str], *, ports: Mapping[str, int], **extra: Any
) -> None:
    """Announce that this process serves: {pid, start_time, ports, **extra}, written atomically.

    The start time lets a reader tell this process from a later one that got
    the same pid, so a stale ready file is never taken for a live server.
    """
    clash = {"pid", "start_time"} & extra.keys()
    if clash:
        raise TypeError(f"ready file fields {sorted(clash)} are set by write_ready_file")
    pid = os.getpid()
    record = {"pid": pid, "start_time": process_start_time(pid), "ports": dict(ports), **extra}
    write_json_atomic(path, record)


class ServerExitedError(ChildProcessError):
    """A server exited before it was ready; the message ends with the tail of its log."""

    def __init__(self, message: str, path: str, returncode: int) -> None:
        # No errno describes "the child failed": errno stays None.
        super().__init__(None, message, path)
        self.returncode = returncode


def wait_ready_file(
    path: str | os.PathLike[str],
    timeout_s: float,
    proc: subprocess.Popen[Any] | None = None,
) -> dict[str, Any]:
    """The ready file's record once a live process has written it, waiting at most `timeout_s`.

    A file naming a process that no longer runs is stale and waited past.  If
    `proc` is given and exits first, raises :class:`ServerExitedError` at
    once (with its log's tail when `proc` came from :func:`spawn_server`)
    instead of waiting out the timeout.
    """
    path = Path(path)
    log_path = proc.log_path if isinstance(proc, ServerProcess) else None
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        record, problem = _read_ready(path)
        if record is not None:
            return record
        if proc is not None and proc.poll() is not None:
            raise _exited_early(proc, path, log_path)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if proc is not None and log_path is not None:
                hint = f"the server (pid {proc.pid}) is still running: see {log_path}"
            else:
                hint = "is the server running? A slow start needs a longer timeout"
            raise TimeoutError(
                errno.ETIMEDOUT,
                f"not ready after {timeout_s:g} s: the ready file {problem}; {hint}",
                str(path),
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, _READY_POLL_MAX_S)


def _read_ready(path: Path) -> tuple[dict[str, Any] | None, str]:
    """(record, "") for a ready file of a live process, else (None, what is wrong)."""
    try:
        record = json.loads(path.read_bytes())
        pid, start_time = record["pid"], record["start_time"]
    except FileNotFoundError:
        return None, "does not exist"
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"is not a ready file ({type(exc).__name__}: {exc})"
    if not isinstance(pid, int) or process_start_time(pid) != start_time:
        return None, f"names pid {pid}, which no longer runs (left from an earlier run)"
    return record, ""


def _exited_early(proc: subprocess.Popen[Any], path: Path, log_path: Path | None) -> Exception:
    message = f"server pid {proc.pid} {_describe_exit(proc.returncode)} before it was ready"
    if log_path is not None:
        message += f"; last lines of {log_path}:\n{_tail(log_path)}"
    return ServerExitedError(message, str(path), proc.returncode)


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES))
            lines = f.read().decode(errors="replace").splitlines()[-_TAIL_LINES:]
    except OSError as exc:
        return f"(cannot read the log: {exc})"
    return "\n".join(lines) if lines else "(the log is empty)"


C = TypeVar("C")


def service_config(service: str, description: str, schema: type[C]) -> C:
    """The start of every `python -m flyfs.<service> --config FILE`: tie the process to
    its parent (when started by one), parse its one option, load its config."""
    die_with_parent()
    parser = argparse.ArgumentParser(prog=f"python -m flyfs.{service}", description=description)
    parser.add_argument("--config", help="TOML config file (FLYFS_* variables override it)")
    args = parser.parse_args()
    from flyfs.config import load_config

    return load_config(schema, args.config)


def die_with_parent() -> None:
    """Exit when the process that spawned this one goes away; call it first thing in a server.

    With FLYFS_PARENT_FD set (by :func:`spawn_server`), a daemon thread waits
    for EOF on that pipe, which comes when the parent exits or is killed,
    and then sends SIGTERM to this process so its clean shutdown runs.  As a
    backstop (a forked sibling holding the pipe's write end open),
    PR_SET_PDEATHSIG sends SIGKILL when the parent dies.  Without the
    variable (a server detached by `flyfs cluster up`) this does nothing.
    """
    raw = os.environ.pop(PARENT_FD_ENV, None)  # not for this server's own children
    if raw is None:
        return
    try:
        fd = int(raw)
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (ValueError, OSError):
        is_pipe = False
    if not is_pipe:
        raise OSError(errno.EBADF, f"{PARENT_FD_ENV}={raw!r} is not an inherited pipe")
    os.set_inheritable(fd, False)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    threading.Thread(target=_watch_parent, args=(fd,), name="flyfs-parent", daemon=True).start()


def _watch_parent(fd: int) -> None:
    # The parent never writes: the read returns when every write end is closed.
    try:
        os.read(fd, 1)
    finally:
        log.warning("parent process went away; stopping")
        os.kill(os.getpid(), signal.SIGTERM)


class ServerProcess(subprocess.Popen[bytes]):
    """A server child as :func:`spawn_server` started it: its log, and its parent pipe."""

    log_path: Path
    _parent_w: int | None = None

    def close_parent_pipe(self) -> None:
        """Tell the child its parent is gone (it stops by itself); idempotent."""
        if self._parent_w is not None:
            os.close(self._parent_w)
            self._parent_w = None


def service_argv(service: str, config_path: str | os.PathLike[str]) -> list[str]:
    """The command line that runs flyfs service `service` (mgmtd, meta, storage) on a config."""
    return [sys.executable, "-m", f"flyfs.{service}", "--config", str(config_path)]


def spawn_server(
    argv: Sequence[str],
    *,
    log_path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    detach: bool = False,
) -> ServerProcess:
    """Start a server with stdout and stderr appended to `log_path`.

    `env` replaces the environment as in Popen (None: inherit).  Unless
    `detach`, the child gets the read end of a pipe whose write end stays
    here (FLYFS_PARENT_FD) and dies with this process once it has called
    :func:`die_with_parent`.  Spawn from a thread that outlives the child:
    Linux sends PR_SET_PDEATHSIG when the spawning *thread* exits.  With
    `detach` the child gets its own session and no pipe, and outlives us.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.pop(PARENT_FD_ENV, None)
    read_fd = write_fd = None
    if not detach:
        read_fd, write_fd = os.pipe()
        child_env[PARENT_FD_ENV] = str(read_fd)
    try:
        with open(log_path, "ab") as log_file:
            proc = ServerProcess(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=child_env,
                pass_fds=() if read_fd is None else (read_fd,),
                start_new_session=detach,
            )
    except BaseException:
        if write_fd is not None:
            os.close(write_fd)
        raise
    finally:
        if read_fd is not None:
            os.close(read_fd)
    proc.log_path = Path(log_path)
    proc._parent_w = write_fd
    return proc


def stop_process(pid: int, start_time: int, timeout_s: float) -> bool:
    """SIGTERM the process (pid, start_time), SIGKILL it after `timeout_s`, wait until it is gone.

    Returns True if it was running and is gone now; False if it was not
    running (it exited, or the pid now names another process), in which case
    nothing was signalled.  A child of the caller stays a zombie until the
    caller reaps it (Popen.wait).  Raises TimeoutError if it outlives SIGKILL.
    """
    return signal_process(
        pid, start_time, ((signal.SIGTERM, timeout_s), (signal.SIGKILL, _KILL_WAIT_S))
    )


def signal_process(
    pid: int, start_time: int, steps: Sequence[tuple[signal.Signals, float]]
) -> bool:
    """Send each `(signal, seconds to wait for the exit)` of `steps` in turn to (pid,
    start_time) until it exits; True if it was running, False if nothing was signalled.

    Raises TimeoutError if the last step's signal was meant to end it
    (a wait above 0) and it still runs.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        # The pidfd pins the process: checking its start time after opening
        # the pidfd leaves no window for the pid to be reused before we signal.
        if process_start_time(pid) != start_time or _wait_exit(pidfd, 0):
            return False
        for sig, wait_s in steps:
            try:
                signal.pidfd_send_signal(pidfd, sig)
            except ProcessLookupError:
                return True
            if wait_s and _wait_exit(pidfd, wait_s):
                return True
        if steps and steps[-1][1]:
            raise TimeoutError(
                errno.ETIMEDOUT, f"pid {pid} is still running {steps[-1][1]:g} s after {sig.name}"
            )
        return True
    finally:
        os.close(pidfd)


def _wait_exit(pidfd: int, timeout_s: float) -> bool:
    """Whether the process exits within `timeout_s` (a pidfd turns readable when it exits)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0, round(timeout_s * 1000))))


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> None:
    """SIGTERM or SIGINT → `stop()` once (scheduled if it returns an awaitable).

    A second signal while stopping ends the process at once with the
    signal's default action, for a shutdown that hangs.
    """
    pending: set[asyncio.Future[Any]] = set()
    stopping = False

    def on_signal(signum: signal.Signals) -> None:
        nonlocal stopping
        if stopping:
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        stopping = True
        log.info("%s received; stopping", signum.name)
        result = stop()
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            pending.add(task)
            task.add_done_callback(pending.discard)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
