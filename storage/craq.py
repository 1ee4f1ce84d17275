"""CRAQ replication of one chunk update, sans I/O.

The rules of DESIGN.md's "Storage and replication (CRAQ)" live here as
plans: generators that yield effects (`Inspect`, `Stage`, `Forward`,
`Commit`) and receive their results, the way h11 separates HTTP from
sockets.  The storage service runs a plan against its chunk store and the
data plane; `tests/storage/test_craq.py` runs the same plans against an
in-memory chain, so the rules are tested without processes, and a seeded
simulation can drive them later.

One plan runs at a time per chunk on a replica (the caller holds the
chunk's lock for the whole plan, forwarding included): the head thereby
serialises a chunk's writes, and a version it assigns is never given to
another write.

    head, client update:  check head + chain version; Inspect; a pending
        version left by anything (a failed forward, a client that gave up,
        a chain change) is re-forwarded unchanged and committed first;
        Stage the update as commit_ver + 1 (the store recognises a retry of
        an applied (client, sequence) and answers it as a duplicate);
        Forward to the successor; Commit when it answered.
    other replicas, forwarded update:  check the sender is the predecessor
        under the same chain version; Stage the version as given; Forward
        if not the tail; Commit.  Stale, out-of-order and conflicting
        versions are refused by the store's rules; an identical duplicate is
        acknowledged.  A forwarder that hears STALE_VERSION knows its
        successor committed that version already (versions are never
        reused): what a re-forward meets after a lost reply.
    the SYNCING target:  forwards go on past the serving tail to the target
        being resynced (at most one per chain), as full-chunk replaces of
        the staged version, so whatever the resync has not reached yet, each
        chunk a write touches is whole and current there.
    any replica, at Commit:  the driver refuses it (CHAIN_VERSION_MISMATCH)
        if the chain's version moved since the plan took its view; the
        version stays pending, as after a failed forward, and the retry
        forwards it under the new chain (why: `StorageService._check_unchanged`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Literal

from flyfs.errors import Code, FlyfsError, error


@dataclass(frozen=True)
class ChainView:
    """One chain as this replica's routing has it: the serving targets head to tail,
    then the SYNCING one, if any, which takes writes but serves no reads."""

    chain_id: int
    version: int
    serving: tuple[int, ...]
    syncing: int | None = None

    def head(self) -> int:
        if not self.serving:
            raise error(Code.CHAIN_UNAVAILABLE, f"chain {self.chain_id} has no serving target")
        return self.serving[0]

    def successor(self, me: int) -> int | None:
        if me == self.syncing:
            return None
        at = self._index(me)
        return self.serving[at + 1] if at + 1 < len(self.serving) else self.syncing

    def predecessor(self, me: int) -> int | None:
        if me == self.syncing:
            return self.serving[-1] if self.serving else None
        at = self._index(me)
        return self.serving[at - 1] if at else None

    def check_version(self, version: int) -> None:
        if version != self.version:
            raise error(
                Code.CHAIN_VERSION_MISMATCH,
                f"chain {self.chain_id} is at version {self.version}, the request says {version}",
            )

    def _index(self, me: int) -> int:
        try:
            return self.serving.index(me)
        except ValueError:
            raise error(
                Code.TARGET_NOT_SERVING,
                f"target {me} is not serving chain {self.chain_id} (version {self.version})",
            ) from None


@dataclass(frozen=True)
class Update:
    """A write or truncate of one chunk, as it travels down the chain."""

    chunk_id: bytes
    kind: Literal["write", "truncate"]
    chunk_size: int
    chain_version: int
    offset: int = 0
    data: memoryview = field(default_factory=lambda: memoryview(b""))
    length: int = 0  # a truncate's new chunk length
    client_id: bytes = b""
    sequence: int = 0
    retry: bool = False
    payload_crc: int | None = None
    full_chunk_replace: bool = False
    update_ver: int = 0  # 0 from a client: the head assigns it
    from_target: int = 0  # the forwarding replica; 0 from a client


@dataclass(frozen=True)
class Outcome:
    """What a replica answers: maps onto `WriteResponse` / `TruncateResponse`."""

    update_ver: int
    commit_ver: int
    length: int
    duplicate: bool = False


# ---- effects: what a plan asks its driver to do ----------------------------------------------


@dataclass(frozen=True)
class Inspect:
    """-> `Versions`: the chunk's committed version and its pending update, if any."""


@dataclass(frozen=True)
class Versions:
    commit_ver: int
    pending: Update | None  # the pending version as a full-chunk replace, unchanged


@dataclass(frozen=True)
class Stage:
    """-> `Outcome`: store `update` pending at `update.update_ver` (store version rules)."""

    update: Update


@dataclass(frozen=True)
class Forward:
    """-> `Outcome` from the successor `to`; if it raises, the version stays pending."""

    to: int
    update: Update


@dataclass(frozen=True)
class Commit:
    """-> `Outcome`: make pending `version` committed."""

    version: int


Effect = Inspect | Stage | Forward | Commit
Plan = Generator[Effect, object, Outcome]


def check_sender(view: ChainView, me: int, from_target: int, chain_version: int) -> None:
    """An update reaches `me` from a client (`from_target` 0) only at the head, else only
    from its predecessor, and only under the chain version `me` has (ROUTING_STALE /
    CHAIN_VERSION_MISMATCH tell the sender to refresh its routing)."""
    if from_target == 0:
        if view.head() != me:
            raise error(
                Code.ROUTING_STALE,
                f"target {me} is not the head of chain {view.chain_id}: send updates to "
                f"target {view.head()}",
            )
    else:
        predecessor = view.predecessor(me)
        if predecessor != from_target:
            raise error(
                Code.ROUTING_STALE,
                f"target {me} of chain {view.chain_id} takes forwards from "
                f"{predecessor or 'nobody (it is the head)'}, not from {from_target}",
            )
    view.check_version(chain_version)


def client_update(view: ChainView, me: int, update: Update) -> Plan:
    """The head's plan for an update from a client."""
    check_sender(view, me, 0, update.chain_version)
    versions = yield Inspect()
    assert isinstance(versions, Versions)
    commit_ver = versions.commit_ver
    if versions.pending is not None:
        redo = replace(versions.pending, chain_version=view.version, from_target=me)
        yield from _replicate(view, me, redo)
        commit_ver = redo.update_ver
    staged = yield Stage(replace(update, update_ver=commit_ver + 1, from_target=me))
    assert isinstance(staged, Outcome)
    if staged.duplicate:
        return staged  # every pending version was committed above: so is this one
    done = yield from _replicate(view, me, replace(update, update_ver=staged.update_ver))
    return replace(done, length=staged.length)


def forwarded_update(view: ChainView, me: int, update: Update) -> Plan:
    """A middle or tail replica's plan for an update its predecessor forwarded."""
    check_sender(view, me, update.from_target, update.chain_version)
    staged = yield Stage(update)
    assert isinstance(staged, Outcome)
    if staged.duplicate and staged.commit_ver >= update.update_ver:
        return staged  # committed here, so every successor had it
    done = yield from _replicate(view, me, replace(update, from_target=me))
    return replace(done, length=staged.length)


def _replicate(view: ChainView, me: int, update: Update) -> Generator[Effect, object, Outcome]:
    """Forward a staged version to the successor (if any), then commit it here."""
    successor = view.successor(me)
    if successor is not None:
        outgoing = replace(update, from_target=me)
        if successor == view.syncing and not update.full_chunk_replace:
            versions = yield Inspect()
            assert isinstance(versions, Versions)
            if versions.pending is not None:  # the version just staged, as the whole chunk
                outgoing = replace(versions.pending, chain_version=view.version, from_target=me)
        try:
            yield Forward(successor, outgoing)
        except FlyfsError as exc:
            if exc.code != Code.STALE_VERSION or successor == view.syncing:
                raise
            # Versions are never reused: the successor committed this very one
            # already (a re-forward after a lost reply), so it is done there.
            # Not so for a target being resynced: it may still hold a newer-numbered
            # copy of a chunk the chain removed and wrote again; the update fails
            # until the resync has replaced that copy.
    committed = yield Commit(update.update_ver)
    assert isinstance(committed, Outcome)
    return committed


async def run_plan(plan: Plan, handle: Callable[[Effect], Awaitable[object]]) -> Outcome:
    """Drive `plan`, handing each effect to `handle`; a FlyfsError goes back into the plan."""
    result: object = None
    failure: FlyfsError | None = None
    while True:  # bounded: a plan yields at most nine effects
        try:
            effect = plan.throw(failure) if failure is not None else plan.send(result)
        except StopIteration as stop:
            return stop.value
        try:
            result, failure = await handle(effect), None
        except FlyfsError as exc:
            result, failure = None, exc
