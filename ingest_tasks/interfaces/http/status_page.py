"""The status page at `/`: server-rendered HTML, no JavaScript (being built)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def page() -> str:
    """A placeholder until the page is built."""
    return "<!doctype html><title>ingest-tasks</title><p>status page"
