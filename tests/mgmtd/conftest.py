"""Real mgmtd processes on 127.0.0.1.

`mgmtd_server` is shared by a module (tests use their own node and target
ids); `fresh_mgmtd` is a new mgmtd on a new KV for tests that need an empty
cluster (chain creation places every free target).
"""

from __future__ import annotations

import pytest
from mgmtd_harness import MgmtdCaller, start_mgmtd


@pytest.fixture(scope="module")
def mgmtd_server(tmp_path_factory):
    server = start_mgmtd(tmp_path_factory.mktemp("mgmtd"))
    yield server
    server.stop()


@pytest.fixture
def mgmtd(mgmtd_server):
    caller = MgmtdCaller(mgmtd_server.address)
    yield caller
    caller.close()


@pytest.fixture
def fresh_mgmtd(tmp_path):
    server = start_mgmtd(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def fresh(fresh_mgmtd):
    caller = MgmtdCaller(fresh_mgmtd.address)
    yield caller
    caller.close()
