"""Start flyfs servers as processes: what tests, benchmarks and the local launcher share.

A server is `python -m flyfs.<service> --config DIR/<name>.toml`; it writes
`DIR/<name>.ready` when it serves and logs to `DIR/<name>.log`.  `launch`
waits for the ready file with a bound and kills the child if it never
comes; the returned handle stops the server by pid *and* start time, so a
reused pid is never signalled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flyfs.config import dump_config
from flyfs.process import (
    ServerProcess,
    cpu_seconds,
    service_argv,
    spawn_server,
    stop_process,
    wait_ready_file,
)

READY_TIMEOUT_S = 30.0


@dataclass
class Launched:
    proc: ServerProcess
    ready: dict[str, Any]  # the server's ready file: pid, start_time, ports, ...
    dir: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def port(self, name: str) -> int:
        return int(self.ready["ports"][name])

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (all its threads)."""
        return cpu_seconds(self.proc.pid)

    def stop(self, timeout_s: float = 10.0) -> None:
        stop_process(self.proc.pid, self.ready["start_time"], timeout_s=timeout_s)
        self.proc.wait(timeout=timeout_s)
        self.proc.close_parent_pipe()


def launch(
    argv: list[str],
    directory: Path,
    name: str,
    *,
    timeout_s: float = READY_TIMEOUT_S,
    started: Callable[[int], None] | None = None,
) -> Launched:
    """Run `argv` (which must write `directory/<name>.ready`) and wait until it serves.

    `started(pid)` runs as soon as the child exists (e.g. to pin its CPUs).
    """
    ready_file = directory / f"{name}.ready"
    ready_file.unlink(missing_ok=True)
    proc = spawn_server(argv, log_path=directory / f"{name}.stdout")
    try:
        if started is not None:
            started(proc.pid)
        ready = wait_ready_file(ready_file, timeout_s, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        proc.close_parent_pipe()
        raise
    return Launched(proc, ready, directory)


def launch_service(
    service: str,
    config: Any,
    directory: Path,
    name: str,
    *,
    timeout_s: float = READY_TIMEOUT_S,
    started: Callable[[int], None] | None = None,
) -> Launched:
    """Write `config` (a service config dataclass with `ready_file` and `log_file`) and run it."""
    directory.mkdir(parents=True, exist_ok=True)
    config.ready_file = str(directory / f"{name}.ready")
    config.log_file = config.log_file or str(directory / f"{name}.log")
    path = directory / f"{name}.toml"
    path.write_text(dump_config(config))
    return launch(
        service_argv(service, path), directory, name, timeout_s=timeout_s, started=started
    )
