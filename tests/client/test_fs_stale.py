"""A reader whose file is removed and collected under it gets ESTALE, never zeros."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyfs.cluster import LocalCluster
from tests.client.conftest import make_fs, pattern
from tests.cluster.cluster_fixtures import start_cluster

GC_DELAY_S = 0.5


@pytest.fixture(scope="module")
def quick_gc_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(
        Path(tmp_path_factory.mktemp("stale")),
        nodes=3,
        targets_per_node=1,
        meta_config={"gc_delay_s": GC_DELAY_S, "janitor_interval_s": 0.1},
    )
    yield cluster
    cluster.down()


def test_an_open_file_collected_under_its_reader_fails_with_estale(
    quick_gc_cluster: LocalCluster,
) -> None:
    fs = make_fs(quick_gc_cluster, default_cache_type="none")
    try:
        data = pattern(5 * 65536 + 3)
        fs.pipe_file("/doomed", data)
        with fs.open("/doomed", "rb") as f:
            assert f.read(10) == data[:10]
            fs.rm_file("/doomed")
            assert f.read(10) == data[10:20]  # removal waits out gc_delay_s
            deadline = time.monotonic() + 20 * GC_DELAY_S + 10
            while True:  # bounded: until the collector removed the chunks
                try:
                    got = f.read(65536)
                except OSError as exc:
                    assert exc.errno == errno.ESTALE, exc
                    break
                assert got == data[f.loc - len(got) : f.loc], "bytes of a removed file changed"
                assert time.monotonic() < deadline, "the chunks were never collected"
                f.seek(20)
                time.sleep(0.1)
    finally:
        fs.close()
