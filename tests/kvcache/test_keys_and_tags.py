"""Page keys name whole prefixes; tags reject every page that is not the one asked for."""

from __future__ import annotations

import pytest

from flyfs.client.kvcache.keys import page_keys
from flyfs.client.kvcache.tags import TAG_BYTES, encode_tag, tag_key, tag_matches


def test_a_key_names_the_whole_prefix_under_one_model() -> None:
    tokens = list(range(200))
    keys = page_keys("m", tokens, 64)
    assert len(keys) == 3  # the partial page (8 tokens) has no key
    assert page_keys("m", tokens[:128], 64) == keys[:2]
    changed = page_keys("m", [*tokens[:64], 999, *tokens[65:]], 64)
    assert changed[0] == keys[0] and changed[1] != keys[1] and changed[2] != keys[2]
    assert page_keys("other", tokens, 64)[0] != keys[0]
    assert len(set(keys)) == 3 and all(len(k) == 32 for k in keys)
    with pytest.raises(ValueError):
        page_keys("m", tokens, 0)


def test_a_tag_matches_only_its_own_page() -> None:
    key, other = b"k" * 32, b"o" * 32
    page = memoryview(bytes(range(256)) * 100)
    tag = encode_tag(key, 7, page)
    assert len(tag) == TAG_BYTES and tag_key(tag) == (key, 7, len(page))
    assert tag_matches(tag, key, 7, page)
    assert not tag_matches(tag, other, 7, page)  # another key's slot
    assert not tag_matches(tag, key, 8, page)  # a reused slot of another generation
    assert not tag_matches(tag, key, 7, page[:-1])  # short
    torn = bytearray(page)
    torn[5000] ^= 1
    assert not tag_matches(tag, key, 7, memoryview(torn))  # half written or rotten
    rotten = bytearray(tag)
    rotten[40] ^= 1
    assert not tag_matches(rotten, key, 7, page) and tag_key(rotten) is None
    assert tag_key(bytes(TAG_BYTES)) is None  # an empty (or deleted) slot
