"""What a route reaches through its request: the server's one IngestClient and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingest_tasks.core.settings import Settings
from ingest_tasks.interfaces.client import IngestClient


def client(request: Request) -> IngestClient:
    """The client every route of this server calls."""
    return request.app.state.client


def settings(request: Request) -> Settings:
    """The server's settings (its client's)."""
    return request.app.state.client.settings


Client = Annotated[IngestClient, Depends(client)]
Config = Annotated[Settings, Depends(settings)]
