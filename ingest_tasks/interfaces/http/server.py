"""Serving the HTTP API with uvicorn (`ingest serve`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.interfaces.http.api import create_api
from ingest_tasks.interfaces.http.auth import parse_keys

if TYPE_CHECKING:
    from ingest_tasks.interfaces.client import IngestClient

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


@contextmanager
def serving(ingest: IngestClient, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the API over `ingest` in a thread of this process; yields its base URL (port 0:
    a free one). For tests, benchmarks and applications embedding the server."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_api(ingest), host=host, port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="ingest-api", daemon=True)
    thread.start()
    poll_until(lambda: server.started or not thread.is_alive(), 30, "the API server's start", 0.02)
    if not server.started:
        raise RuntimeError(f"the API server did not start on {host}:{port}")
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(10)
