"""A page of a directory: one range scan over its entries, in name order.

The cursor is the last name returned, so a page is independent of the
pages before it and a listing of 100,000 entries never holds a transaction
open between pages (each page is its own snapshot).
"""

from __future__ import annotations

from flyfs.errors import Code, error
from flyfs.kv import ReadTransaction, key_after
from flyfs.kv.api import prefix_end
from flyfs.proto import meta_pb2

from .. import schema
from ..resolve import DIRECTORY
from .stat import lookup


def run(
    tr: ReadTransaction, request: meta_pb2.ListRequest, default_limit: int, max_limit: int
) -> meta_pb2.ListResponse:
    directory = lookup(tr, request.dir)
    if directory.type != DIRECTORY:
        raise error(
            Code.NOT_DIR, f"inode {directory.id} is not a directory", request.dir.path or None
        )
    limit = min(request.limit or default_limit, max_limit)
    prefix = schema.dentry_prefix(directory.id)
    begin = key_after(prefix + request.cursor) if request.cursor else prefix
    rows = tr.snapshot_get_range(begin, prefix_end(prefix), limit=limit + 1)
    response = meta_pb2.ListResponse()
    for key, value in rows[:limit]:
        entry = response.entries.add()
        entry.MergeFromString(value)
        entry.parent, entry.name = directory.id, schema.dentry_name(key)
        if request.with_attrs:
            inode = schema.get_inode(tr, entry.inode_id, snapshot=True)
            if inode is not None:
                entry.inode.CopyFrom(inode)
    if len(rows) > limit:
        response.next_cursor = rows[limit - 1][0][len(prefix) :]
    return response
