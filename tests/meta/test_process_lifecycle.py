"""`python -m flyfs.meta`: ready file, what it logs, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal

from meta_harness import MetaCaller, start_meta


def test_meta_logs_its_address_and_engine_and_stops_cleanly_on_sigterm(tmp_path):
    server = start_meta(tmp_path)
    ready = json.loads((tmp_path / "meta.ready").read_text())
    assert ready["ports"]["grpc"] == server.port("grpc") and ready["engine"] == "sqlite"
    caller = MetaCaller(server.address)
    caller.mkdir("/still-here")
    caller.close()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=20) == 0
    server.proc.close_parent_pipe()
    log = (tmp_path / "meta.log").read_text()
    assert f"meta listening on 127.0.0.1:{server.port('grpc')}, KV engine sqlite" in log
    assert "meta stopped" in log
    again = start_meta(tmp_path)
    try:
        assert MetaCaller(again.address).stat("/still-here").type == 2
    finally:
        again.stop()
