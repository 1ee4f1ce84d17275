"""Real meta servers on 127.0.0.1, started as processes once per module.

State is reset per test by giving each test its own directory (`base`).
"""

from __future__ import annotations

import uuid

import pytest
from meta_harness import MetaCaller, start_meta


@pytest.fixture(scope="module")
def meta_server(tmp_path_factory):
    server = start_meta(tmp_path_factory.mktemp("meta"), gc_delay_s=0.5, janitor_interval_s=0.2)
    yield server
    server.stop()


@pytest.fixture
def meta(meta_server):
    caller = MetaCaller(meta_server.address)
    yield caller
    caller.close()


@pytest.fixture
def base(meta) -> str:
    """A fresh directory for this test: state never leaks between tests."""
    path = f"/t-{uuid.uuid4().hex[:12]}"
    meta.mkdir(path)
    return path
