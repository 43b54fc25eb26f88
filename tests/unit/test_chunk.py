"""Chunking by model tokens, with overlap and deterministic ids."""

import random
import re
from itertools import pairwise

import pytest

from ingest_tasks.pipeline.chunk import Place, chunk_id, chunk_text


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


def pieces(text, width=3):
    """Ids and spans of subword pieces of at most `width` characters, as WordPiece gives them."""
    spans = [(m.start() + i, min(m.start() + i + width, m.end()))
             for m in re.finditer(r"\S+", text) for i in range(0, len(m.group()), width)]
    return list(range(len(spans))), spans


def bpe(text):
    """Ids and spans of words that carry the space before them, as byte-level BPE gives them."""
    spans = [m.span() for m in re.finditer(r"\s*\S+", text)]
    return list(range(len(spans))), spans


def prose(sentences=40, seed=7):
    """Sentences of 5 to 12 long words, a paragraph break after every fourth."""
    rng = random.Random(seed)
    out = []
    for n in range(sentences):
        words = [rng.choice(["glacier", "moraine", "crevasse", "ablation", "firn"])
                 for _ in range(rng.randint(5, 12))]
        out.append(" ".join(words).capitalize() + "." + ("\n\n" if n % 4 == 3 else " "))
    return "".join(out).strip()


def ends_mid_word(text, chunk):
    """True if the chunk stops inside a word of the text."""
    end = text.index(chunk.text) + len(chunk.text)
    return end < len(text) and not text[end].isspace()


def test_ends_snap_to_a_sentence_end_near_the_cut():
    text = prose()
    chunks = chunk_text(text, *words(text), size=30, overlap=0, snap=12)
    assert len(chunks) > 5
    assert all(c.text.endswith(".") for c in chunks)
    assert all(c.text[0].isupper() for c in chunks)


def test_a_paragraph_break_in_reach_wins_over_a_nearer_sentence_end():
    text = "One two three four five six. Seven eight nine.\n\nTen eleven twelve. Thirteen fourteen."
    chunks = chunk_text(text, *words(text), size=12, overlap=0, snap=6)
    assert chunks[0].text.endswith("nine.") and chunks[1].text.startswith("Ten")


def test_subword_cuts_move_to_a_word_end_and_would_not_without_snapping():
    text = prose()
    assert any(ends_mid_word(text, c) for c in chunk_text(text, *pieces(text), 40, 8, snap=0))
    chunks = chunk_text(text, *pieces(text), 40, 8, snap=16)
    assert not any(ends_mid_word(text, c) for c in chunks)


def test_boundaries_are_found_in_tokens_that_carry_their_space():
    text = prose()
    assert all(c.text.endswith(".") for c in chunk_text(text, *bpe(text), 30, 0, snap=12))


@pytest.mark.parametrize("size,overlap,snap", [(16, 0, 16), (16, 4, 16), (30, 8, 5), (40, 39, 16),
                                               (17, 3, 0)])
def test_snapped_windows_are_bounded_cover_the_text_and_overlap_at_most_as_asked(size, overlap,
                                                                                   snap):
    text = prose(30, seed=size + snap)
    ids, spans = pieces(text)
    chunks = chunk_text(text, ids, spans, size, overlap, snap=snap)
    assert chunks == chunk_text(text, ids, spans, size, overlap, snap=snap)  # deterministic
    assert all(0 < c.tokens <= size and c.text for c in chunks)
    assert chunks[0].ids[0] == 0 and chunks[-1].ids[-1] == len(ids) - 1
    for before, after in pairwise(chunks):
        assert before.ids[0] < after.ids[0] <= before.ids[-1] + 1  # progress, no gap
        assert before.ids[-1] - after.ids[0] + 1 <= overlap  # shared tokens


def test_place_is_told_each_chunks_characters():
    text = "alpha beta. gamma delta."

    def place(start, end):
        return Place(heading=text[start:end])

    chunks = chunk_text(text, *words(text), 2, 0, place=place)
    assert [c.place.heading for c in chunks] == ["alpha beta.", "gamma delta."]
