"""Servers the tests start: the bundled embedding service in a process of its own
(`ingest_tasks.testing.embed_server.serving`, which the fault suite uses too)."""

from pathlib import Path

from ingest_tasks.testing.embed_server import serving

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "serving"]
