"""A local flyfs cluster on 127.0.0.1: mgmtd, one meta server, N storage nodes.

`flyfs cluster up|status|down` and the tests share this module.  Everything
a cluster owns lives in one directory, so a stopped cluster can be started
again on its data, and ``--wipe`` knows exactly what to delete::

    DIR/cluster.json                 who is running: `status`, `down` and clients read it
    DIR/<name>.toml, .ready, .log    per process: mgmtd, meta, storage-N
    DIR/mgmtd-kv.db, DIR/meta-kv.db  the embedded KV files
    DIR/storage-N/tK                 target K of node N, target id N * 100 + K

Processes are found again by (pid, start time), never by pid alone, so a
pid the kernel has reused for another program is never signalled.

This is the one place in the shared package that knows the services'
config classes: configs are built as dataclasses and written with
:func:`flyfs.config.dump_config`, so a renamed key fails here at launch
instead of being ignored by the server.  They are imported lazily, keeping
`flyfs` importable without the services.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from flyfs import errors
from flyfs.cluster_file import (
    CLUSTER_FILE,
    HOST,
    META_NODE_ID,
    STOP_TIMEOUT_S,
    ClusterFile,
    Layout,
    ProcessRecord,
    cluster_file_path,
)
from flyfs.config import dump_config
from flyfs.errors import Code
from flyfs.process import (
    ServerExitedError,
    ServerProcess,
    service_argv,
    signal_process,
    spawn_server,
    stop_process,
    wait_ready_file,
)
from flyfs.proto import mgmtd_pb2, mgmtd_pb2_grpc
from flyfs.request_tags import RequestTagger
from flyfs.routing import Routing, fetch_routing

READY_TIMEOUT_S = 30.0  # one server's start, imports included, on a busy machine
SETTLE_TIMEOUT_S = 60.0  # targets registered, chains created and serving
_POLL_S = 0.1
_TAIL_LINES = 20
_TAIL_BYTES = 8192

Progress = Callable[[str], None]
"""Called with a one-line status whenever a long wait's status changes."""


@dataclass
class Server:
    """One cluster process started by this Python process."""

    name: str
    service: str  # runs as `python -m flyfs.<service>`
    config: Any  # the service's config dataclass, as last written
    directory: Path
    proc: ServerProcess | None = None
    ready: dict[str, Any] | None = None
    stopped: bool = False  # stopped on purpose: its exit is no failure

    @property
    def config_path(self) -> Path:
        return self.directory / f"{self.name}.toml"

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def ready_path(self) -> Path:
        return self.directory / f"{self.name}.ready"

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    @property
    def targets(self) -> list[Path]:
        """A storage node's target directories (empty for other services)."""
        return [Path(t) for t in getattr(self.config, "targets", [])]

    def port(self, name: str) -> int:
        assert self.ready is not None, f"{self.name} is not ready"
        return int(self.ready["ports"][name])

    def address(self, port: str) -> str:
        return f"{HOST}:{self.port(port)}"

    def spawn(self, detach: bool) -> None:
        """Write the config and start the process; :meth:`wait_ready` waits for it."""
        self.config.ready_file = str(self.ready_path)
        self.config.log_file = str(self.log_path)  # tracebacks before logging start go there too
        self.config_path.write_text(dump_config(self.config))
        self.ready_path.unlink(missing_ok=True)
        self.ready = None
        self.stopped = False
        argv = service_argv(self.service, self.config_path)
        self.proc = spawn_server(argv, log_path=self.log_path, detach=detach)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        try:
            self.ready = wait_ready_file(self.ready_path, timeout_s, self.proc)
        except ServerExitedError as exc:
            raise self.exited_error() from exc
        except TimeoutError as exc:
            raise errors.error(
                Code.TIMEOUT, f"not ready after {timeout_s:g} s; see {self.log_path}", self.name
            ) from exc

    def exited(self) -> bool:
        """Whether it ended without being asked to."""
        return self.proc is not None and not self.stopped and self.proc.poll() is not None

    def exited_error(self) -> ServerExitedError:
        """Names the process, how it ended and the tail of its log."""
        assert self.proc is not None and self.proc.returncode is not None
        code = self.proc.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        tail = log_tail(self.log_path)
        return ServerExitedError(
            f"pid {self.proc.pid} {how}; last lines of {self.log_path}:\n{tail}", self.name, code
        )

    def record(self) -> ProcessRecord:
        assert self.ready is not None, f"{self.name} is not ready"
        return ProcessRecord(
            name=self.name,
            service=self.service,
            pid=self.pid,
            start_time=self.ready["start_time"],
            ports=dict(self.ready["ports"]),
            log=str(self.log_path),
            config=str(self.config_path),
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S, kill: bool = False) -> None:
        """Stop it (SIGTERM, or SIGKILL with `kill`) and reap it; nothing if it already ended."""
        if self.proc is None:
            return
        self.stopped = True
        if kill or self.ready is None:
            self.proc.kill()  # Popen never signals a pid it has reaped
        else:
            stop_process(self.pid, self.ready["start_time"], timeout_s)
        self.proc.wait(timeout=timeout_s)
        self.proc.close_parent_pipe()


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """The last `lines` lines of a log, for an error message."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read the log: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


class LocalCluster:
    """A running local cluster; use :meth:`up`, then :meth:`down` (or a `with` block).

    `attached=True` (tests) makes every process die with this one, even on
    SIGKILL; `attached=False` (`flyfs cluster up`) lets them outlive it.
    Start it from a thread that outlives the cluster (the kernel ties an
    attached child to the thread that spawned it).
    """

    def __init__(
        self, directory: Path, cluster_id: str, layout: Layout, attached: bool, mgmtd: Server
    ) -> None:
        self.directory = directory
        self.cluster_id = cluster_id
        self.layout = layout
        self.attached = attached
        self.mgmtd = mgmtd
        self.meta: Server | None = None
        self.storage: list[Server] = []  # storage[i] is node i + 1

    @classmethod
    def up(
        cls,
        directory: str | os.PathLike[str],
        nodes: int = 3,
        targets_per_node: int = 2,
        replicas: int = 3,
        *,
        heartbeat_s: float = 1.0,
        lease_s: float = 10.0,
        attached: bool = True,
        timeout_s: float = SETTLE_TIMEOUT_S,
        progress: Progress | None = None,
        mgmtd_config: Mapping[str, Any] | None = None,
        meta_config: Mapping[str, Any] | None = None,
        storage_config: Mapping[str, Any] | None = None,
    ) -> LocalCluster:
        """Start mgmtd, meta and the storage nodes; return once every chain is SERVING.

        `*_config` override fields of that service's config (e.g.
        ``meta_config={"gc_delay_s": 0.5}``).  A stopped cluster left in
        `directory` is started again on its data with its cluster id; a live
        one is refused.  On any failure, what was started is stopped again.
        """
        layout = Layout(nodes, targets_per_node, replicas)
        layout.check()
        directory = Path(directory).expanduser().resolve()
        directory.mkdir(parents=True, exist_ok=True)
        cluster_id = _reusable_cluster_id(directory, layout) or f"local-{uuid.uuid4().hex[:8]}"
        config = _mgmtd_config(cluster_id, directory, heartbeat_s, lease_s)
        mgmtd = Server("mgmtd", "mgmtd", _configure(config, mgmtd_config), directory)
        cluster = cls(directory, cluster_id, layout, attached, mgmtd)
        report = progress or (lambda _line: None)
        try:
            cluster._start(meta_config, storage_config, report)
            cluster._settle(timeout_s, report)
        except BaseException:
            cluster._stop_servers(cluster.servers(), STOP_TIMEOUT_S)
            raise
        return cluster

    @property
    def mgmtd_address(self) -> str:
        return self.mgmtd.address("grpc")

    @property
    def meta_address(self) -> str:
        assert self.meta is not None
        return self.meta.address("grpc")

    @property
    def cluster_file(self) -> Path:
        return self.directory / CLUSTER_FILE

    def servers(self) -> list[Server]:
        return [s for s in (self.mgmtd, self.meta, *self.storage) if s is not None]

    def routing(self, timeout_s: float = 10.0) -> Routing:
        return fetch_routing(self.mgmtd_address, timeout_s=timeout_s)

    def stop_node(self, index: int, kill: bool = False) -> None:
        """Stop storage node `index` (0-based); `kill` sends SIGKILL, as a crash would."""
        self.storage[index].stop(kill=kill)

    def start_node(self, index: int) -> None:
        """Start a stopped storage node again on its targets; returns once mgmtd lists it.

        Its targets' states are then mgmtd's to decide; :meth:`wait_serving`
        waits for them to serve again.
        """
        node = self.storage[index]
        node.spawn(detach=not self.attached)
        node.wait_ready()
        registered = functools.partial(self._registered, [node])
        self._wait(f"{node.name} to register", registered, READY_TIMEOUT_S, None)
        self.write_cluster_file()

    def restart_mgmtd(self, kill: bool = False) -> None:
        """Stop mgmtd and start it again on the same port, which the others know it by."""
        self.mgmtd.config.port = self.mgmtd.port("grpc")
        self.mgmtd.stop(kill=kill)
        self.mgmtd.spawn(detach=not self.attached)
        self.mgmtd.wait_ready()
        self.write_cluster_file()

    def wait_serving(
        self, timeout_s: float = SETTLE_TIMEOUT_S, progress: Progress | None = None
    ) -> None:
        """Wait until every chain's targets are all SERVING (after a node came back)."""
        self._wait("chains to serve", self._chains_serving, timeout_s, progress)

    def write_cluster_file(self) -> None:
        ClusterFile(
            cluster_id=self.cluster_id,
            mgmtd=self.mgmtd_address,
            layout=self.layout,
            processes=[s.record() for s in self.servers() if s.ready is not None],
        ).save(self.cluster_file)

    def down(self, wipe: bool = False, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop every process (idempotent); `wipe` also deletes the cluster's files."""
        self._stop_servers(self.servers(), timeout_s)
        if wipe:
            wipe_directory(self.directory)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()

    def _start(
        self,
        meta_config: Mapping[str, Any] | None,
        storage_config: Mapping[str, Any] | None,
        report: Progress,
    ) -> None:
        """mgmtd first (the others need its address), then meta and every storage node at once.

        The cluster file is written after each step, so `down` finds what
        runs even if this process dies, and a retry keeps the cluster id
        mgmtd's KV now holds.
        """
        report("starting mgmtd")
        self.mgmtd.spawn(detach=not self.attached)
        self.mgmtd.wait_ready()
        self.write_cluster_file()
        address = self.mgmtd_address
        meta = _configure(_meta_config(self.cluster_id, self.directory, address), meta_config)
        self.meta = Server("meta", "meta", meta, self.directory)
        for node_id in range(1, self.layout.nodes + 1):
            config = _storage_config(self.cluster_id, self.directory, self.layout, node_id, address)
            name = f"storage-{node_id}"
            self.storage.append(
                Server(name, "storage", _configure(config, storage_config), self.directory)
            )
        starting = [self.meta, *self.storage]
        report(f"starting meta and {len(self.storage)} storage nodes")
        for server in starting:  # all at once: their imports overlap
            server.spawn(detach=not self.attached)
        for server in starting:
            server.wait_ready()
        self.write_cluster_file()

    def _settle(self, timeout_s: float, report: Progress) -> None:
        deadline = time.monotonic() + timeout_s
        registered = functools.partial(self._registered, self.storage)
        self._wait("storage nodes to register", registered, timeout_s, report)
        if not self.routing().info.chains:  # a restarted cluster keeps its chains
            report(f"creating chains of {self.layout.replicas} replicas")
            create_chains(self.mgmtd_address, self.layout.replicas)
        self._wait("chains to serve", self._chains_serving, deadline - time.monotonic(), report)
        self.write_cluster_file()

    def _registered(self, nodes: list[Server]) -> tuple[bool, str]:
        """Whether mgmtd lists each of `nodes` as this very process (its pid), with its targets."""
        routing = self.routing()
        known = {n.node_id: n for n in routing.info.nodes}
        owner = {t.target_id: t.node_id for t in routing.info.targets}
        done = 0
        for server in nodes:
            node_id = server.config.node_id
            node = known.get(node_id)
            done += (
                node is not None
                and node.pid == server.pid
                and node.status == mgmtd_pb2.NODE_STATUS_ACTIVE
                and all(owner.get(t) == node_id for t in server.config.target_ids)
            )
        return done == len(nodes), f"{done}/{len(nodes)} storage nodes"

    def _chains_serving(self) -> tuple[bool, str]:
        serving, chains = serving_chains(self.routing())
        return bool(chains) and serving == chains, f"{serving}/{chains}"

    def _wait(
        self,
        what: str,
        check: Callable[[], tuple[bool, str]],
        timeout_s: float,
        progress: Progress | None,
    ) -> None:
        """Poll `check` until done, at most `timeout_s`; fail at once if a process exited."""
        deadline = time.monotonic() + max(timeout_s, 0.0)
        shown = None
        while True:
            for server in self.servers():
                if server.exited():
                    raise server.exited_error()
            try:
                done, status = check()
            except ConnectionError as exc:
                done, status = False, f"mgmtd unreachable ({exc.strerror})"
            if done:
                return
            if progress is not None and status != shown:
                progress(f"waiting for {what}: {status}")
                shown = status
            if time.monotonic() >= deadline:
                raise errors.error(
                    Code.TIMEOUT,
                    f"{what}: {status} after {timeout_s:.0f} s; logs are in {self.directory}",
                    self.cluster_id,
                )
            time.sleep(_POLL_S)

    @staticmethod
    def _stop_servers(servers: list[Server], timeout_s: float) -> None:
        _in_stop_order(servers, lambda s: s.name, lambda s: s.stop(timeout_s))


def _mgmtd_config(cluster_id: str, directory: Path, heartbeat_s: float, lease_s: float) -> Any:
    from flyfs.kv import KvConfig
    from flyfs.mgmtd.config import MgmtdConfig

    return MgmtdConfig(
        cluster_id=cluster_id,
        host=HOST,
        kv=KvConfig(sqlite_path=str(directory / "mgmtd-kv.db")),
        heartbeat_interval_s=heartbeat_s,
        lease_s=lease_s,
    )


def _meta_config(cluster_id: str, directory: Path, mgmtd: str) -> Any:
    from flyfs.kv import KvConfig
    from flyfs.meta.config import MetaConfig

    kv = KvConfig(sqlite_path=str(directory / "meta-kv.db"))
    return MetaConfig(host=HOST, kv=kv, cluster_id=cluster_id, mgmtd=mgmtd, node_id=META_NODE_ID)


def _storage_config(
    cluster_id: str, directory: Path, layout: Layout, node_id: int, mgmtd: str
) -> Any:
    from flyfs.storage.config import StorageConfig

    target_ids = layout.target_ids(node_id)
    node_dir = directory / f"storage-{node_id}"
    return StorageConfig(
        cluster_id=cluster_id,
        node_id=node_id,
        host=HOST,
        targets=[str(node_dir / f"t{t % 100}") for t in target_ids],
        target_ids=target_ids,
        mgmtd=mgmtd,
    )


def _configure(config: Any, overrides: Mapping[str, Any] | None) -> Any:
    """`config` with `overrides` applied; an unknown field is a TypeError naming it."""
    return dataclasses.replace(config, **(overrides or {}))


def _reusable_cluster_id(directory: Path, layout: Layout) -> str | None:
    """The id of a stopped cluster left in `directory`, to start it again on its data.

    Refuses a directory whose cluster still runs, or whose data was laid
    out differently (its target ids would not match).
    """
    path = directory / CLUSTER_FILE
    try:
        previous = ClusterFile.load(path)
    except FileNotFoundError:
        return None
    live = [f"{p.name} (pid {p.pid})" for p in previous.processes if p.alive()]
    if live:
        raise errors.error(
            Code.EXISTS,
            f"a cluster is running here: {', '.join(live)}; stop it with"
            f" `flyfs cluster down --dir {directory}`",
            str(path),
        )
    if previous.layout != layout:
        raise errors.error(
            Code.EXISTS,
            f"a stopped cluster with another layout ({previous.layout}) holds data here;"
            f" start it with that layout, or delete it with"
            f" `flyfs cluster down --wipe --dir {directory}`",
            str(path),
        )
    return previous.cluster_id


def create_chains(mgmtd: str, replicas: int, timeout_s: float = 30.0) -> mgmtd_pb2.ChainTable:
    """Ask mgmtd to build the chain table from every registered target."""
    request = mgmtd_pb2.CreateChainsRequest(tag=RequestTagger().tag(), replicas=replicas)
    with grpc.insecure_channel(mgmtd) as channel:
        try:
            return mgmtd_pb2_grpc.MgmtdStub(channel).CreateChains(request, timeout=timeout_s).table
        except grpc.RpcError as exc:
            raise errors.from_grpc(exc) from None


def serving_chains(routing: Routing) -> tuple[int, int]:
    """(chains whose every target is SERVING, chains)."""
    chains = routing.info.chains
    serving = sum(len(routing.serving(c.chain_id)) == len(c.target_ids) for c in chains)
    return serving, len(chains)


def stop_cluster(
    directory: str | os.PathLike[str] | None = None, timeout_s: float = STOP_TIMEOUT_S
) -> list[tuple[ProcessRecord, bool]]:
    """Stop the processes `DIR/cluster.json` names: (record, whether it was running) each.

    Storage nodes and meta stop first, mgmtd last, so nothing loses mgmtd
    while it shuts down.  A pid now used by another program is not signalled.
    """
    path = cluster_file_path(directory)
    try:
        records = ClusterFile.load(path).processes
    except FileNotFoundError:
        return []
    results: dict[str, bool] = {}

    def stop(record: ProcessRecord) -> None:
        results[record.name] = record.stop(timeout_s)

    _in_stop_order(records, lambda r: r.name, stop)
    return [(r, results[r.name]) for r in records]


# What `flyfs cluster kill` may send: a crash, a clean stop, a freeze and a thaw.
NODE_SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "STOP": signal.SIGSTOP,
                "CONT": signal.SIGCONT}  # fmt: skip


def find_process(directory: str | os.PathLike[str] | None, name: str) -> ProcessRecord:
    """The process `name` (`storage-N`, `N` for short, or `meta`) of the cluster in `directory`."""
    found = ClusterFile.load(cluster_file_path(directory))
    wanted = f"storage-{name}" if name.isdigit() else name
    for record in found.processes:
        if record.name == wanted:
            return record
    names = ", ".join(p.name for p in found.processes)
    raise errors.error(Code.NOT_FOUND, f"no process {wanted!r} in this cluster ({names})")


def signal_node(
    directory: str | os.PathLike[str] | None, name: str, signal_name: str = "KILL"
) -> ProcessRecord:
    """Send a storage node or meta `signal_name` (see NODE_SIGNALS); SIGKILL waits for the end."""
    record = find_process(directory, name)
    if record.service not in ("storage", "meta"):
        raise errors.error(Code.INVALID_ARGUMENT, f"{record.name} is not a storage or meta node")
    sig = NODE_SIGNALS[signal_name]
    wait_s = STOP_TIMEOUT_S if sig in (signal.SIGKILL, signal.SIGTERM) else 0.0
    if not signal_process(record.pid, record.start_time, [(sig, wait_s)]):
        raise errors.error(Code.NOT_FOUND, f"{record.name} (pid {record.pid}) is not running")
    return record


def start_node(
    directory: str | os.PathLike[str] | None, name: str, timeout_s: float = READY_TIMEOUT_S
) -> ProcessRecord:
    """Start a stopped storage node or meta again on its config and data (detached).

    Returns its new record, also written to the cluster file; its targets
    come back through mgmtd (OFFLINE, WAITING, SYNCING, SERVING).
    """
    path = cluster_file_path(directory)
    record = find_process(directory, name)
    if record.service not in ("storage", "meta"):
        raise errors.error(Code.INVALID_ARGUMENT, f"{record.name} is not a storage or meta node")
    if record.alive():
        raise errors.error(Code.EXISTS, f"{record.name} is running (pid {record.pid})")
    ready_path = Path(record.config).with_suffix(".ready")
    ready_path.unlink(missing_ok=True)
    proc = spawn_server(
        service_argv(record.service, record.config), log_path=record.log, detach=True
    )
    try:
        ready = wait_ready_file(ready_path, timeout_s, proc)
    except BaseException:
        proc.kill()
        raise
    started = dataclasses.replace(
        record, pid=proc.pid, start_time=ready["start_time"], ports=dict(ready["ports"])
    )
    found = ClusterFile.load(path)
    found.processes = [started if p.name == record.name else p for p in found.processes]
    found.save(path)
    return started


def _in_stop_order(
    items: Iterable[Any], name: Callable[[Any], str], stop: Callable[[Any], None]
) -> None:
    """Run `stop` on everything but mgmtd in parallel, then on mgmtd."""
    items = list(items)
    first = [i for i in items if name(i) != "mgmtd"]
    last = [i for i in items if name(i) == "mgmtd"]
    for group in (first, last):
        if group:
            with ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(stop, group))  # re-raises the first failure


_OWNED = re.compile(
    r"(cluster\.json|\.(cluster\.json|(mgmtd|meta|storage-\d+)\.ready)\..*\.tmp"
    r"|(mgmtd|meta|storage-\d+)\.(toml|ready|log)|storage-\d+"
    r"|(mgmtd|meta)-kv\.db(-wal|-shm|-journal)?)"
)


def wipe_directory(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete what a local cluster wrote in `directory` (not other files); returns it.

    Refuses while a process of the cluster still runs.
    """
    directory = Path(directory)
    path = directory / CLUSTER_FILE
    if path.exists():
        live = [p.name for p in ClusterFile.load(path).processes if p.alive()]
        if live:
            raise errors.error(Code.BUSY, f"still running: {', '.join(live)}", str(directory))
    removed = []
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if not _OWNED.fullmatch(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
