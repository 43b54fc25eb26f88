"""What a task spent its wall time on: spans of parsing, embedding, waiting and writing.

A bulk group keeps one; its job sums them into phases (state/timelines.py), and
scripts/bench_batch.py draws them. Spans may be added from several threads of a task.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Timeline:
    """Spans of wall-clock time (epoch seconds), each with a kind and facts of its own."""

    def __init__(self) -> None:
        self.started = time.time()
        self.spans: list[dict[str, Any]] = []

    @contextmanager
    def span(self, kind: str, **facts: Any) -> Iterator[dict[str, Any]]:
        """Time the block as a span of `kind`; the dict yielded takes more facts."""
        start = time.time()
        extra: dict[str, Any] = {}
        try:
            yield extra
        finally:
            # one append: atomic, so threads may add at once
            self.spans.append({"kind": kind, "start": round(start, 4),
                               "end": round(time.time(), 4), **facts, **extra})

    def to_dict(self) -> dict[str, Any]:
        """The task's spans with its process and when it started and ended; spans of a kind
        that follow each other within `JOIN` s are one (a group of a thousand documents
        parsed back to back keeps a few spans, not a thousand), their chunks summed."""
        return {"worker": f"{socket.gethostname()}:{os.getpid()}", "start": round(self.started, 4),
                "end": round(time.time(), 4), "spans": joined(self.spans)}


JOIN = 0.002  # seconds: spans of a kind closer than this are joined


def joined(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans, those of a kind that follow within JOIN s made one (only their chunks kept)."""
    out: list[dict[str, Any]] = []
    last: dict[str, dict[str, Any]] = {}
    for span in sorted(spans, key=lambda span: span["start"]):
        before = last.get(span["kind"])
        if before is not None and span["start"] - before["end"] <= JOIN:
            before["end"] = max(before["end"], span["end"])
            if "chunks" in span:
                before["chunks"] = before.get("chunks", 0) + span["chunks"]
            for fact in set(before) - {"kind", "start", "end", "chunks"}:
                del before[fact]
        else:
            last[span["kind"]] = dict(span)
            out.append(last[span["kind"]])
    return out
