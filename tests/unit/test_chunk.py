"""Chunking by model tokens, with overlap and deterministic ids."""

import re

import pytest

from ingest_tasks.pipeline.chunk import chunk_id, chunk_text


def words(text):
    """Ids and spans of the text's words, as a tokenizer would give them."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    return list(range(len(spans))), spans


def test_windows_overlap_by_the_given_tokens():
    text = " ".join(f"w{i}" for i in range(25))
    chunks = chunk_text(text, *words(text), size=10, overlap=3)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w7", "w14", "w21"]
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert all(c.tokens <= 10 for c in chunks)
    assert [c.ids[:2] for c in chunks] == [(0, 1), (7, 8), (14, 15), (21, 22)]


def test_every_token_is_covered_and_the_tail_is_not_repeated_alone():
    text = " ".join(f"w{i}" for i in range(20))
    chunks = chunk_text(text, *words(text), size=10, overlap=2)
    covered = {w for c in chunks for w in c.text.split()}
    assert covered == set(text.split())
    assert len(chunks) == 3  # 0-9, 8-17, 16-19


def test_short_text_is_one_chunk_and_empty_text_none():
    assert [c.text for c in chunk_text("one two", *words("one two"), 10, 2)] == ["one two"]
    assert chunk_text("", [], [], 10, 2) == []


def test_overlap_must_be_smaller_than_size():
    with pytest.raises(ValueError):
        chunk_text("a b", *words("a b"), 4, 4)


def test_chunk_ids_are_deterministic():
    assert chunk_id("docs/a.md", 3) == chunk_id("docs/a.md", 3) == "docs/a.md#3"
