"""Every namespace operation through gRPC against a real meta process, errors included."""

from __future__ import annotations

import errno

import pytest

from flyfs.errors import Code, FlyfsError
from flyfs.proto import meta_pb2

DIR = meta_pb2.INODE_TYPE_DIRECTORY
FILE = meta_pb2.INODE_TYPE_FILE
Ref = meta_pb2.InodeRef


def code_of(call) -> Code:
    with pytest.raises(FlyfsError) as caught:
        call()
    return caught.value.code


# -- stat and lookup -------------------------------------------------------------


def test_root_is_a_directory(meta):
    root = meta.stat("/")
    assert root.id == 1 and root.type == DIR and root.mode == 0o755


def test_stat_by_path_and_by_inode_agree(meta, base):
    created = meta.create(f"{base}/f", mode=0o600)
    by_path = meta.stat(f"{base}/f")
    by_inode = meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=created.id))).inode
    assert by_path == by_inode == created
    assert created.type == FILE and created.mode == 0o600 and created.nlink == 1
    assert created.layout.chunk_size == 4 << 20 and created.layout.stripe >= 1


def test_stat_errors(meta, base):
    meta.create(f"{base}/file")
    with pytest.raises(FileNotFoundError) as caught:
        meta.stat(f"{base}/missing")
    assert caught.value.errno == errno.ENOENT and caught.value.filename == f"{base}/missing"
    with pytest.raises(NotADirectoryError):
        meta.stat(f"{base}/file/below")
    assert (
        code_of(lambda: meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=10**15))))
        is Code.NOT_FOUND
    )
    assert code_of(lambda: meta.call("Stat", meta_pb2.StatRequest())) is Code.INVALID_ARGUMENT


def test_stat_many_answers_each_path_in_order(meta, base):
    for i in range(50):
        meta.create(f"{base}/s{i}")
    refs = [Ref(path=f"{base}/s{i}") for i in range(50)] + [Ref(path=f"{base}/nope")]
    results = meta.call("StatMany", meta_pb2.StatManyRequest(refs=refs)).results
    assert len(results) == 51
    assert all(r.status.code == 0 and r.inode.type == FILE for r in results[:50])
    assert results[50].status.code == Code.NOT_FOUND


# -- mkdir, create, list -------------------------------------------------------------


def test_mkdir_with_parents_and_exist_ok(meta, base):
    deep = meta.mkdir(f"{base}/a/b/c", parents=True)
    assert deep.type == DIR and meta.stat(f"{base}/a/b").nlink == 3
    assert (
        meta.call("Mkdir", meta_pb2.MkdirRequest(path=f"{base}/a", exist_ok=True)).created is False
    )
    assert code_of(lambda: meta.mkdir(f"{base}/a")) is Code.EXISTS
    assert code_of(lambda: meta.mkdir(f"{base}/x/y")) is Code.NOT_FOUND
    meta.create(f"{base}/file")
    assert code_of(lambda: meta.mkdir(f"{base}/file", exist_ok=True)) is Code.EXISTS
    assert code_of(lambda: meta.mkdir(f"{base}/file/sub", parents=True)) is Code.NOT_DIR


def test_create_exclusive_and_not(meta, base):
    first = meta.call("Create", meta_pb2.CreateRequest(path=f"{base}/f", exclusive=True))
    assert first.created
    again = meta.call("Create", meta_pb2.CreateRequest(path=f"{base}/f"))
    assert not again.created and again.inode.id == first.inode.id
    with pytest.raises(FileExistsError):
        meta.create(f"{base}/f", exclusive=True)
    with pytest.raises(IsADirectoryError):
        meta.create(base)
    assert meta.create(f"{base}/p/q/r", parents=True).type == FILE


def test_create_with_chunk_size_and_bad_chunk_size(meta, base):
    assert meta.create(f"{base}/big", chunk_size=1 << 20).layout.chunk_size == 1 << 20
    assert code_of(lambda: meta.create(f"{base}/odd", chunk_size=3000)) is Code.INVALID_ARGUMENT
    with pytest.raises(FileNotFoundError):
        meta.stat(f"{base}/odd")


def test_list_pages_through_a_directory_in_name_order(meta, base):
    names = sorted(f"n{i:04d}" for i in range(250))
    for name in names:
        meta.create(f"{base}/{name}")
    page = meta.call("List", meta_pb2.ListRequest(dir=Ref(path=base), limit=100, with_attrs=True))
    assert [e.name for e in page.entries] == names[:100] and page.next_cursor
    assert all(e.inode.type == FILE for e in page.entries)
    assert meta.names(base) == names
    assert code_of(lambda: meta.names(f"{base}/n0000")) is Code.NOT_DIR


# -- unlink, rmdir -------------------------------------------------------------------


def test_unlink_file_and_refusals(meta, base):
    inode = meta.create(f"{base}/f")
    gone = meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f")).inode
    assert gone.id == inode.id and gone.unlinked
    with pytest.raises(FileNotFoundError):
        meta.stat(f"{base}/f")
    assert meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=inode.id))).inode.unlinked
    assert (
        code_of(lambda: meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/f")))
        is Code.NOT_FOUND
    )
    meta.mkdir(f"{base}/d")
    assert (
        code_of(lambda: meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/d")))
        is Code.IS_DIR
    )


def test_rmdir_only_empty_directories(meta, base):
    meta.mkdir(f"{base}/d")
    meta.create(f"{base}/d/f")
    with pytest.raises(OSError) as caught:
        meta.call("Rmdir", meta_pb2.RmdirRequest(path=f"{base}/d"))
    assert caught.value.errno == errno.ENOTEMPTY
    meta.call("Unlink", meta_pb2.UnlinkRequest(path=f"{base}/d/f"))
    parent_links = meta.stat(base).nlink
    meta.call("Rmdir", meta_pb2.RmdirRequest(path=f"{base}/d"))
    assert meta.stat(base).nlink == parent_links - 1
    assert (
        code_of(lambda: meta.call("Rmdir", meta_pb2.RmdirRequest(path=f"{base}/d")))
        is Code.NOT_FOUND
    )
    meta.create(f"{base}/f")
    assert (
        code_of(lambda: meta.call("Rmdir", meta_pb2.RmdirRequest(path=f"{base}/f"))) is Code.NOT_DIR
    )
    assert code_of(lambda: meta.call("Rmdir", meta_pb2.RmdirRequest(path="/"))) is Code.BUSY


# -- rename ------------------------------------------------------------------------------


def rename(meta, src, dst, **kw):
    return meta.call("Rename", meta_pb2.RenameRequest(src=src, dst=dst, **kw))


def test_rename_file_across_directories_replacing_a_file(meta, base):
    meta.mkdir(f"{base}/a")
    meta.mkdir(f"{base}/b")
    moving = meta.create(f"{base}/a/f")
    old = meta.create(f"{base}/b/g")
    result = rename(meta, f"{base}/a/f", f"{base}/b/g")
    assert result.inode.id == moving.id and result.replaced.id == old.id
    assert meta.stat(f"{base}/b/g").id == moving.id
    assert meta.names(f"{base}/a") == [] and meta.names(f"{base}/b") == ["g"]
    assert meta.call("Stat", meta_pb2.StatRequest(ref=Ref(inode_id=old.id))).inode.unlinked


def test_rename_directory_keeps_nlink_and_parent_right(meta, base):
    meta.mkdir(f"{base}/a/sub/deeper", parents=True)
    meta.mkdir(f"{base}/b")
    rename(meta, f"{base}/a/sub", f"{base}/b/sub")
    assert meta.stat(f"{base}/a").nlink == 2 and meta.stat(f"{base}/b").nlink == 3
    assert meta.stat(f"{base}/b/sub").parent == meta.stat(f"{base}/b").id
    assert meta.stat(f"{base}/b/sub/deeper").type == DIR


def test_rename_refusals(meta, base):
    meta.mkdir(f"{base}/d/inner", parents=True)
    meta.mkdir(f"{base}/full")
    meta.create(f"{base}/full/x")
    meta.create(f"{base}/f")
    assert code_of(lambda: rename(meta, f"{base}/d", f"{base}/d/inner/d")) is Code.BAD_PATH
    assert code_of(lambda: rename(meta, f"{base}/d", f"{base}/full")) is Code.NOT_EMPTY
    assert code_of(lambda: rename(meta, f"{base}/d", f"{base}/f")) is Code.NOT_DIR
    assert code_of(lambda: rename(meta, f"{base}/f", f"{base}/d")) is Code.IS_DIR
    assert code_of(lambda: rename(meta, f"{base}/nope", f"{base}/x")) is Code.NOT_FOUND
    assert (
        code_of(lambda: rename(meta, f"{base}/f", f"{base}/full/x", no_replace=True)) is Code.EXISTS
    )
    assert code_of(lambda: rename(meta, "/", f"{base}/root")) is Code.BUSY
    assert meta.names(base) == ["d", "f", "full"]


def test_rename_directory_over_empty_directory(meta, base):
    meta.mkdir(f"{base}/src")
    meta.create(f"{base}/src/kept")
    meta.mkdir(f"{base}/empty")
    rename(meta, f"{base}/src", f"{base}/empty")
    assert meta.names(f"{base}/empty") == ["kept"] and meta.stat(base).nlink == 3


def test_rename_onto_itself_is_a_no_op(meta, base):
    inode = meta.create(f"{base}/f")
    assert rename(meta, f"{base}/f", f"{base}/f").inode.id == inode.id
    assert meta.stat(f"{base}/f").id == inode.id


# -- symlinks, set_attr, statfs ------------------------------------------------------------


def test_symlinks_resolve_and_readlink(meta, base):
    meta.mkdir(f"{base}/real")
    target = meta.create(f"{base}/real/file")
    meta.call("Symlink", meta_pb2.SymlinkRequest(path=f"{base}/link", target="real"))
    meta.call("Symlink", meta_pb2.SymlinkRequest(path=f"{base}/abs", target=f"{base}/real/file"))
    assert meta.stat(f"{base}/link/file").id == target.id
    assert meta.stat(f"{base}/abs").id == target.id
    assert meta.stat(f"{base}/abs", no_follow=True).type == meta_pb2.INODE_TYPE_SYMLINK
    assert (
        meta.call("Readlink", meta_pb2.ReadlinkRequest(ref=Ref(path=f"{base}/link"))).target
        == "real"
    )
    meta.call("Symlink", meta_pb2.SymlinkRequest(path=f"{base}/loop", target=f"{base}/loop"))
    assert code_of(lambda: meta.stat(f"{base}/loop")) is Code.SYMLINK_LOOP
    assert (
        code_of(
            lambda: meta.call("Readlink", meta_pb2.ReadlinkRequest(ref=Ref(path=f"{base}/real")))
        )
        is Code.BAD_PATH
    )


def test_set_attr_changes_only_what_it_names(meta, base):
    inode = meta.create(f"{base}/f", mode=0o644)
    request = meta_pb2.SetAttrRequest(ref=Ref(path=f"{base}/f"), mode=0o4600, mtime_ns=12345)
    changed = meta.call("SetAttr", request).inode
    assert changed.mode == 0o4600 and changed.mtime_ns == 12345 and changed.uid == inode.uid


def test_statfs_answers(meta):
    response = meta.call("Statfs", meta_pb2.StatfsRequest())
    assert response.free_bytes == response.capacity_bytes - response.used_bytes


# -- path rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, code",
    [
        ("relative/path", Code.BAD_PATH),
        ("/a//b", Code.BAD_PATH),
        ("/a/./b", Code.BAD_PATH),
        ("/a/../b", Code.BAD_PATH),
        ("/a\x00b", Code.BAD_PATH),
        ("/" + "n" * 256, Code.NAME_TOO_LONG),
        ("/" + "/".join(["d" * 200] * 21), Code.NAME_TOO_LONG),
        ("", Code.BAD_PATH),
    ],
)
def test_bad_paths_are_refused(meta, path, code):
    assert code_of(lambda: meta.create(path)) is code
    assert code_of(lambda: meta.stat(path)) is code


def test_names_of_255_bytes_and_unicode_are_fine(meta, base):
    name = "é" * 127  # 254 bytes
    meta.create(f"{base}/{name}")
    meta.create(f"{base}/{'n' * 255}")
    assert sorted(meta.names(base)) == sorted([name, "n" * 255])


def test_mutation_without_a_tag_is_refused(meta, base):
    stub = meta.stub
    with pytest.raises(Exception) as caught:
        stub.Create(meta_pb2.CreateRequest(path=f"{base}/untagged"))
    assert "RequestTag" in caught.value.details()
    with pytest.raises(FileNotFoundError):
        meta.stat(f"{base}/untagged")
