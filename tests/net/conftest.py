import os

import pytest


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> tuple[str, bytes]:
    """An 8 MiB file of random bytes that the toy service serves by range."""
    data = os.urandom(8 << 20)
    path = tmp_path_factory.mktemp("net") / "chunk"
    path.write_bytes(data)
    return str(path), data
