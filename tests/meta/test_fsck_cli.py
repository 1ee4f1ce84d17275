"""`flyfs admin fsck` against a real meta server."""

from __future__ import annotations

import socket
import subprocess
import sys


def flyfs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flyfs.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_fsck_of_a_consistent_namespace_exits_0(meta_server, meta, base):
    meta.mkdir(f"{base}/d/e", parents=True)
    meta.create(f"{base}/d/f")
    done = flyfs("admin", "fsck", "--meta", meta_server.address)
    assert done.returncode == 0, done.stderr
    assert "no problems" in done.stderr and done.stdout == ""


def test_fsck_of_an_unreachable_server_is_one_line_and_exit_3():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = flyfs("admin", "fsck", "--meta", f"127.0.0.1:{port}", "--timeout", "5")
    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_fsck_with_a_bad_address_is_a_usage_error():
    done = flyfs("admin", "fsck", "--meta", "nowhere")
    assert done.returncode == 2 and "HOST:PORT" in done.stderr
