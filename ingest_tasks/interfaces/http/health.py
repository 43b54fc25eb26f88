"""Liveness and readiness: /healthz answers while the server runs; /readyz when Redis, the
broker and the Chroma server answer too (503 naming the ones that do not)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ingest_tasks.interfaces.http.context import Client

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The server runs")
def healthz() -> dict:
    """Always {"status": "ok"} while the process serves."""
    return {"status": "ok"}


@router.get("/readyz", summary="Redis, the broker and Chroma answer",
            responses={503: {"description": "a service does not answer"}})
def readyz(ingest: Client) -> JSONResponse:
    """{"status": "ready", "checks": {...}}, or 503 with the failing checks' reasons."""
    checks = ingest.readiness()
    ready = all(answer == "ok" for answer in checks.values())
    return JSONResponse({"status": "ready" if ready else "not-ready", "checks": checks},
                        status_code=200 if ready else 503)
