"""fsck: the namespace's invariants, checked over a full scan.

Invariants (each failure is a problem with a stable `kind` token):
- root: inode 1 exists and is a directory;
- dangling-entry: every entry names an existing inode, of the entry's type;
- entry-to-unlinked: no entry names an unlinked inode;
- bad-parent: every entry's parent is an existing directory, and a
  directory's `parent` field names the directory holding its entry;
- orphan-inode / multiply-linked: every live inode except the root is named
  by exactly one entry (an inode a WRITE session will swap in at close is
  not an orphan yet);
- nlink: a file has 1, a directory 2 + its subdirectories;
- unlinked-not-queued: every unlinked inode waits in the removal queue.
The scan reads in pages of separate snapshot transactions, so it is exact on
a quiet namespace; under load it may report what a concurrent operation
was in the middle of changing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from flyfs.errors import Code, error
from flyfs.kv import Database, KeyValue, key_after
from flyfs.kv.keys import Tag, read_u64, tag_range
from flyfs.proto import meta_pb2

from . import schema
from .resolve import DIRECTORY

PAGE = 5000
MAX_PROBLEMS = 1000


def scan(db: Database, tag: Tag) -> Iterator[KeyValue]:
    begin, end = tag_range(tag)
    while True:
        page = db.read(lambda tr, b=begin: tr.snapshot_get_range(b, end, limit=PAGE))
        yield from page
        if len(page) < PAGE:
            return
        begin = key_after(page[-1][0])


def run(db: Database, request: meta_pb2.FsckRequest) -> meta_pb2.FsckResponse:
    if request.repair or request.sweep_storage:
        raise error(
            Code.NOT_SUPPORTED, "fsck repair and storage sweep arrive with storage (issue 6)"
        )
    inodes = {read_u64(k, 4): meta_pb2.Inode.FromString(v) for k, v in scan(db, Tag.INODE)}
    entries = []
    for key, value in scan(db, Tag.DENTRY):
        entry = meta_pb2.DirEntry.FromString(value)
        entry.parent, entry.name = read_u64(key, 4), schema.dentry_name(key)
        entries.append(entry)
    swapping = set()
    for _, value in scan(db, Tag.SESSION):
        session = meta_pb2.WriteSession.FromString(value)
        if session.replaces_inode_id:
            swapping.add(session.inode_id)
    queued = {read_u64(k, 12) for k, _ in scan(db, Tag.REMOVAL)}

    report = Report()
    root = inodes.get(schema.ROOT_ID)
    if root is None or root.type != DIRECTORY:
        report.add("root", schema.ROOT_ID, "the root directory is missing or not a directory")
    links: Counter[int] = Counter()
    subdirs: Counter[int] = Counter()
    for entry in entries:
        links[entry.inode_id] += 1
        where = f"entry {entry.name!r} in directory {entry.parent}"
        parent = inodes.get(entry.parent)
        if parent is None or parent.type != DIRECTORY or parent.unlinked:
            report.add("bad-parent", entry.parent, f"{where}: its directory is missing")
        target = inodes.get(entry.inode_id)
        if target is None or target.type != entry.type:
            report.add("dangling-entry", entry.inode_id, f"{where} names a missing inode")
            continue
        if target.unlinked:
            report.add("entry-to-unlinked", target.id, f"{where} names an unlinked inode")
        if target.type == DIRECTORY:
            subdirs[entry.parent] += 1
            if target.parent != entry.parent:
                report.add("bad-parent", target.id, f"{where}: inode says parent {target.parent}")
    for inode in inodes.values():
        if inode.unlinked:
            if inode.id not in queued:
                report.add("unlinked-not-queued", inode.id, "unlinked but not in the removal queue")
            continue
        if inode.id == schema.ROOT_ID:
            continue
        count = links[inode.id]
        if count == 0 and inode.id not in swapping:
            report.add("orphan-inode", inode.id, "no entry names this inode")
        elif count > 1:
            report.add("multiply-linked", inode.id, f"named by {count} entries")
        want = 2 + subdirs[inode.id] if inode.type == DIRECTORY else 1
        if count and inode.nlink != want:
            report.add("nlink", inode.id, f"nlink is {inode.nlink}, expected {want}")
    if root is not None and root.nlink != 2 + subdirs[schema.ROOT_ID]:
        report.add("nlink", schema.ROOT_ID, f"root nlink is {root.nlink}")
    return meta_pb2.FsckResponse(
        inodes=len(inodes),
        directories=sum(1 for i in inodes.values() if i.type == DIRECTORY),
        entries=len(entries),
        problems=report.problems,
        problems_truncated=report.truncated,
    )


class Report:
    def __init__(self) -> None:
        self.problems: list[meta_pb2.FsckProblem] = []
        self.truncated = False

    def add(self, kind: str, inode_id: int, detail: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(meta_pb2.FsckProblem(kind=kind, inode_id=inode_id, detail=detail))
