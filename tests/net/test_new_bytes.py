"""new_bytes: an owned bytes object filled in place through its view."""

from __future__ import annotations

import pytest

from flyfs.net.buffers import new_bytes


@pytest.mark.parametrize("size", [0, 1, 4095, 3 << 20])
def test_the_view_fills_the_bytes_object(size: int) -> None:
    data, view = new_bytes(size)
    assert type(data) is bytes and len(data) == size and len(view) == size
    pattern = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    view[:] = pattern
    view.release()
    assert data == pattern
    assert hash(data) == hash(pattern)  # hashed only after filling, as bytes must be
