"""`flyfs admin create-chains` against a real mgmtd."""

from __future__ import annotations

import socket

from mgmtd_harness import flyfs


def test_dry_run_then_create(fresh_mgmtd, fresh):
    for node in (1, 2, 3):
        fresh.register_storage(node, [node * 10 + 1, node * 10 + 2])
    dry = flyfs("admin", "create-chains", "--mgmtd", fresh_mgmtd.address, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "chain\ttargets\tnodes",
        "1\t11,21,31\t1,2,3",
        "2\t22,12,32\t2,1,3",
    ]
    assert "nothing stored" in dry.stderr
    assert not fresh.routing().routing.chains
    done = flyfs("admin", "create-chains", "--mgmtd", fresh_mgmtd.address, "--replicas", "3")
    assert done.returncode == 0 and done.stdout == dry.stdout
    assert len(fresh.routing().routing.chains) == 2
    again = flyfs("admin", "create-chains", "--mgmtd", fresh_mgmtd.address)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_too_many_replicas_is_exit_1(fresh_mgmtd, fresh):
    fresh.register_storage(1, [11])
    done = flyfs("admin", "create-chains", "--mgmtd", fresh_mgmtd.address, "--replicas", "3")
    assert done.returncode == 1 and "cannot form chains" in done.stderr


def test_unreachable_mgmtd_is_exit_3():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = flyfs("admin", "create-chains", "--mgmtd", f"127.0.0.1:{port}", "--timeout", "5")
    assert done.returncode == 3, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_arguments_are_usage_errors():
    assert flyfs("admin", "create-chains", "--mgmtd", "nowhere").returncode == 2
    assert flyfs("admin", "create-chains", "--mgmtd", "h:1", "--replicas", "0").returncode == 2
