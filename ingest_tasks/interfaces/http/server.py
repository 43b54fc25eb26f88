"""Serving the HTTP API with uvicorn (`ingest serve`)."""

from __future__ import annotations

from fastapi import FastAPI

from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.interfaces.http.api import create_api
from ingest_tasks.interfaces.http.auth import parse_keys

NO_KEYS = ("no API keys: make one with `ingest apikey NAME --scope admin` and add the entry "
           "it prints to INGEST_API_KEYS (config/ingest.env or the environment)")


def from_environment() -> FastAPI:
    """The API of the environment's settings: the app factory of each uvicorn worker."""
    from ingest_tasks.interfaces.client import IngestClient

    return create_api(IngestClient(get_settings()))


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until stopped; a ValueError first if no key could ever be let in."""
    import uvicorn

    if not parse_keys(settings.api_keys):
        raise ValueError(NO_KEYS)
    uvicorn.run(f"{__name__}:from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="info", proxy_headers=False)
