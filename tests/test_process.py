"""flyfs.process with real child processes on 127.0.0.1.

Every test stops what it started, by pid, even when it fails.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyfs.process import (
    PARENT_FD_ENV,
    ServerExitedError,
    ServerProcess,
    bind_listener,
    die_with_parent,
    process_start_time,
    spawn_server,
    stop_process,
    wait_ready_file,
    write_ready_file,
)

READY_TIMEOUT_S = 30.0  # generous: two busy cores can slow a Python start a lot
EXIT_TIMEOUT_S = 15.0

# A toy server using the helpers the way flyfs servers do.  argv: ready path, mode.
TOY_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from flyfs.process import die_with_parent
    die_with_parent()
    from flyfs.logs import setup_logging
    from flyfs.process import bind_listener, install_stop_signals, write_ready_file

    ready_path, mode = sys.argv[1], sys.argv[2]
    if mode == "crash":
        sys.exit("boom: bad config")
    log = setup_logging("toy")
    log = setup_logging("toy")  # a second call must not double every line
    log.info("toy starting")

    async def serve():
        sock = bind_listener()
        stopped = asyncio.Event()

        async def stop():
            if mode == "hang":
                await asyncio.sleep(60)
            stopped.set()

        async def greet(reader, writer):
            writer.write(b"flyfs-toy\\n")
            await writer.drain()
            writer.close()

        install_stop_signals(asyncio.get_running_loop(), stop)
        server = await asyncio.start_server(greet, sock=sock)
        write_ready_file(ready_path, ports={"data": sock.getsockname()[1]}, service="toy")
        await stopped.wait()
        server.close()
        await server.wait_closed()
        log.info("stopped cleanly")

    asyncio.run(serve())
    """
)

# Spawns the toy server, reports it, then waits to be killed.  argv: dir, mode.
# Mode "fork" also forks a child that inherits the pipe's write end and keeps
# it open after the launcher dies, so only PR_SET_PDEATHSIG can stop the server.
LAUNCHER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from flyfs.process import process_start_time, spawn_server, wait_ready_file
    d, mode = Path(sys.argv[1]), sys.argv[2]
    proc = spawn_server(
        [sys.executable, str(d / "toy.py"), str(d / "toy.ready"), "serve"], log_path=d / "toy.log"
    )
    record = wait_ready_file(d / "toy.ready", 30, proc)
    if mode == "fork":
        holder = os.fork()
        if holder == 0:
            time.sleep(60)
            os._exit(0)
        record["holder"] = [holder, process_start_time(holder)]
    print(json.dumps(record), flush=True)
    time.sleep(60)
    """
)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    """Processes a test started; each is stopped and reaped by pid afterwards."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if isinstance(proc, ServerProcess):
            proc.close_parent_pipe()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=EXIT_TIMEOUT_S)


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    script = tmp_path / "toy.py"
    script.write_text(TOY_SERVER)
    return script


def spawn_toy(tmp_path: Path, mode: str, started: list) -> tuple[ServerProcess, Path]:
    ready = tmp_path / "toy.ready"
    proc = spawn_server(
        [sys.executable, str(tmp_path / "toy.py"), str(ready), mode],
        log_path=tmp_path / "toy.log",
    )
    started.append(proc)
    return proc, ready


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Whether `pid` exits within the bound (a pidfd turns readable when it does)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)


def wait_for_text(path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not in {path} after {timeout_s} s"
        time.sleep(0.02)


def test_server_is_ready_serves_and_exits_when_pipe_closes(
    tmp_path: Path, toy: Path, started: list
) -> None:
    proc, ready = spawn_toy(tmp_path, "serve", started)
    record = wait_ready_file(ready, READY_TIMEOUT_S, proc)
    assert record["pid"] == proc.pid
    assert record["start_time"] == process_start_time(proc.pid)
    assert record["service"] == "toy"
    with socket.create_connection(("127.0.0.1", record["ports"]["data"]), timeout=10) as conn:
        assert conn.makefile("rb").readline() == b"flyfs-toy\n"

    proc.close_parent_pipe()
    # Exit code 0, not -SIGTERM: the pipe's EOF became SIGTERM, and the
    # server's handler ran its clean shutdown.
    assert proc.wait(timeout=EXIT_TIMEOUT_S) == 0
    log = (tmp_path / "toy.log").read_text()
    assert "stopped cleanly" in log
    starting = [line for line in log.splitlines() if line.endswith("toy starting")]
    assert len(starting) == 1, log  # setup_logging twice, still one line
    assert f" INFO toy[{proc.pid}] flyfs.toy: toy starting" in starting[0]


@pytest.mark.parametrize("mode", ["plain", "fork"])
def test_server_dies_when_its_parent_is_killed(
    tmp_path: Path, toy: Path, started: list, mode: str
) -> None:
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    launcher = subprocess.Popen(
        [sys.executable, str(tmp_path / "launcher.py"), str(tmp_path), mode],
        stdout=subprocess.PIPE,
    )
    started.append(launcher)
    ready, _, _ = select.select([launcher.stdout], [], [], READY_TIMEOUT_S + 10)
    assert ready, "the launcher never reported its server"
    record = json.loads(launcher.stdout.readline())
    try:
        launcher.kill()  # SIGKILL: no cleanup code runs in the parent
        launcher.wait(timeout=EXIT_TIMEOUT_S)
        assert wait_gone(record["pid"], EXIT_TIMEOUT_S), "the server outlived its parent"
    finally:
        stop_process(record["pid"], record["start_time"], timeout_s=1)
        if "holder" in record:
            stop_process(*record["holder"], timeout_s=1)


def test_stop_process_refuses_a_pid_with_another_start_time(
    tmp_path: Path, toy: Path, started: list
) -> None:
    proc, ready = spawn_toy(tmp_path, "serve", started)
    record = wait_ready_file(ready, READY_TIMEOUT_S, proc)

    assert stop_process(proc.pid, record["start_time"] + 1, timeout_s=1) is False
    assert proc.poll() is None  # not signalled

    assert stop_process(proc.pid, record["start_time"], timeout_s=EXIT_TIMEOUT_S) is True
    assert proc.wait(timeout=EXIT_TIMEOUT_S) == 0  # SIGTERM → clean shutdown
    assert stop_process(proc.pid, record["start_time"], timeout_s=1) is False  # already gone


def test_stop_process_kills_a_server_whose_shutdown_hangs(
    tmp_path: Path, toy: Path, started: list
) -> None:
    proc, ready = spawn_toy(tmp_path, "hang", started)
    record = wait_ready_file(ready, READY_TIMEOUT_S, proc)
    begin = time.monotonic()
    assert stop_process(proc.pid, record["start_time"], timeout_s=0.5) is True
    assert time.monotonic() - begin < 0.5 + EXIT_TIMEOUT_S
    assert proc.wait(timeout=EXIT_TIMEOUT_S) == -signal.SIGKILL


def test_second_signal_ends_a_hanging_shutdown(tmp_path: Path, toy: Path, started: list) -> None:
    proc, ready = spawn_toy(tmp_path, "hang", started)
    wait_ready_file(ready, READY_TIMEOUT_S, proc)
    proc.send_signal(signal.SIGTERM)
    wait_for_text(tmp_path / "toy.log", "SIGTERM received; stopping", EXIT_TIMEOUT_S)
    assert proc.poll() is None  # stopping, not stopped
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT_S) == -signal.SIGTERM


def test_wait_ready_file_reports_a_server_that_exits_early(
    tmp_path: Path, toy: Path, started: list
) -> None:
    proc, ready = spawn_toy(tmp_path, "crash", started)
    begin = time.monotonic()
    with pytest.raises(ServerExitedError) as info:
        wait_ready_file(ready, READY_TIMEOUT_S, proc)
    assert time.monotonic() - begin < READY_TIMEOUT_S  # did not wait out the timeout
    assert info.value.returncode == 1
    assert info.value.filename == str(ready)
    message = str(info.value)
    assert f"server pid {proc.pid} exited with code 1 before it was ready" in message
    assert "boom: bad config" in message  # the tail of its log


def test_wait_ready_file_times_out_with_path_and_hint(tmp_path: Path) -> None:
    ready = tmp_path / "never.ready"
    begin = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        wait_ready_file(ready, 0.2)
    assert time.monotonic() - begin < 5
    assert info.value.errno == errno.ETIMEDOUT
    assert info.value.filename == str(ready)
    assert "not ready after 0.2 s: the ready file does not exist" in str(info.value)


def test_stale_ready_file_is_not_taken_for_a_live_server(tmp_path: Path) -> None:
    ready = tmp_path / "stale.ready"
    # A live pid with another start time: a file left by an earlier process.
    ready.write_text(json.dumps({"pid": os.getpid(), "start_time": -1, "ports": {}}))
    with pytest.raises(TimeoutError, match="no longer runs"):
        wait_ready_file(ready, 0.2)


def test_write_ready_file_is_complete_and_atomic(tmp_path: Path) -> None:
    ready = tmp_path / "me.ready"
    write_ready_file(ready, ports={"grpc": 7000, "data": 7001}, role="meta")
    assert json.loads(ready.read_text()) == {
        "pid": os.getpid(),
        "start_time": process_start_time(os.getpid()),
        "ports": {"grpc": 7000, "data": 7001},
        "role": "meta",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.ready"]  # no temp file left
    assert wait_ready_file(ready, 1)["role"] == "meta"
    with pytest.raises(TypeError, match="pid"):
        write_ready_file(ready, ports={}, pid=1)


def test_bind_listener_picks_a_port_and_names_a_taken_one() -> None:
    with bind_listener() as sock:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        with socket.create_connection((host, port), timeout=5):
            pass
        with pytest.raises(OSError) as info:
            bind_listener(port=port)
        assert info.value.errno == errno.EADDRINUSE
        assert info.value.filename == f"127.0.0.1:{port}"


def test_process_start_time_survives_odd_process_names(started: list) -> None:
    # The command name in /proc/<pid>/stat may hold ") " and spaces.
    renamer = (
        "import ctypes, sys, time\n"
        "sys.stdin.readline()\n"
        "ctypes.CDLL(None).prctl(15, b'a) 1 2 (b', 0, 0, 0)\n"
        "print('renamed', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", renamer], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    started.append(proc)
    before = process_start_time(proc.pid)
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    assert select.select([proc.stdout], [], [], READY_TIMEOUT_S)[0]
    assert proc.stdout.readline() == b"renamed\n"
    assert b"(a) 1 2 (b)" in Path(f"/proc/{proc.pid}/stat").read_bytes()
    assert before is not None and process_start_time(proc.pid) == before
    assert process_start_time(2**31 - 1) is None


def test_die_with_parent_without_a_parent_pipe_does_nothing(monkeypatch) -> None:
    monkeypatch.delenv(PARENT_FD_ENV, raising=False)
    die_with_parent()
    assert "flyfs-parent" not in [t.name for t in threading.enumerate()]


@pytest.mark.parametrize("value", ["not-a-number", "999999", "regular-file"])
def test_die_with_parent_refuses_a_bad_parent_fd(monkeypatch, tmp_path: Path, value: str) -> None:
    with open(tmp_path / "f", "w") as f:
        monkeypatch.setenv(PARENT_FD_ENV, str(f.fileno()) if value == "regular-file" else value)
        with pytest.raises(OSError, match="is not an inherited pipe"):
            die_with_parent()


def test_is_running_needs_the_start_time_and_no_zombie() -> None:
    from flyfs.process import is_running, process_start_time

    me = os.getpid()
    assert is_running(me, process_start_time(me))
    assert not is_running(me, process_start_time(me) + 1)  # the pid was reused
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start_time(child.pid)
    for _ in range(500):  # bounded: exited, not yet reaped (we have not waited)
        if not is_running(child.pid, started):
            break
        time.sleep(0.01)
    assert process_start_time(child.pid) == started  # still there, as a zombie
    assert not is_running(child.pid, started)
    child.wait()
