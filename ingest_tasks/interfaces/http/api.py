"""The FastAPI app of one IngestClient: routes, keys, limits, errors and the status page."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import FastAPI

from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.interfaces.http import (
    documents,
    errors,
    health,
    jobs,
    reading,
    sources,
    status_page,
    uploads,
)
from ingest_tasks.interfaces.http.auth import parse_keys
from ingest_tasks.interfaces.http.limits import LimitBody

DESCRIPTION = """Keep a RAG index fresh: submit documents (small ones stream, large uploads
batch), follow jobs, search the live collection, sync sources, and watch the lanes. Every route but the
health checks needs an API key (`Authorization: Bearer KEY`) of the scope it names."""


def create_api(ingest: IngestClient) -> FastAPI:
    """The HTTP API over `ingest`; keys from its settings (INGEST_API_KEYS). Its uploads
    folder becomes a source root if it is under none."""
    app = FastAPI(title="ingest-tasks", version=version("ingest-tasks"), description=DESCRIPTION)
    app.state.client = ingest
    app.state.keys = parse_keys(ingest.settings.api_keys)
    uploads.make_readable(ingest.settings)
    app.add_middleware(LimitBody, max_bytes=ingest.settings.api_max_request_bytes)
    errors.install(app)
    for module in (documents, jobs, reading, sources, health, status_page):
        app.include_router(module.router)
    return app
