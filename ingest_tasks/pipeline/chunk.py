"""Cut text into overlapping windows of the embedding model's own tokens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """One window of a document's text."""

    index: int
    text: str
    ids: tuple[int, ...]  # its model token ids, embedded without tokenizing the text again

    @property
    def tokens(self) -> int:
        """How many model tokens it holds."""
        return len(self.ids)


def chunk_text(text: str, ids: list[int], spans: list[tuple[int, int]], size: int,
               overlap: int) -> list[Chunk]:
    """Windows of at most `size` tokens, each sharing `overlap` tokens with the previous one.

    `ids` and `spans` are the text's tokens and their character offsets, as the model's
    tokenizer gives them.
    """
    if not 0 <= overlap < size:
        raise ValueError("need 0 <= overlap < size")
    chunks: list[Chunk] = []
    step = size - overlap
    for start in range(0, max(len(spans) - overlap, 1), step):
        window = spans[start : start + size]
        if not window:
            break
        piece = text[window[0][0] : window[-1][1]].strip()
        if piece:
            chunks.append(Chunk(len(chunks), piece, tuple(ids[start : start + size])))
    return chunks


def chunk_id(doc_id: str, index: int) -> str:
    """The deterministic id of a document's chunk."""
    return f"{doc_id}#{index}"
