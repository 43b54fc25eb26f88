"""One JSON shape for every failure: {"error": {"code": ..., "message": ...}}.

Bad input is a 4xx naming what was wrong (the error tree's codes); a service that does
not answer is 503, a wait past its time 504; anything else is 500 without internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException

from ingest_tasks.core.errors import (
    BlueGreenError,
    IngestError,
    PermanentError,
    SourceOutsideRoots,
    TooLarge,
    TransientError,
    WaitTimeout,
)

log = logging.getLogger("ingest.http")

# The most specific first: TooLarge and SourceOutsideRoots are PermanentErrors too
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (TooLarge, 413), (SourceOutsideRoots, 403), (PermanentError, 400), (BlueGreenError, 409),
    (TransientError, 503), (WaitTimeout, 504),
)


class Problem(BaseModel):
    """What went wrong: a short code (the error tree's, for counting) and a message."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every failure's body."""

    error: Problem


RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "bad input: the message says what"), (401, "no API key, or an unknown one"),
        (403, "the key's scope does not allow it, or a path outside the source roots"),
        (404, "no such job or source"), (409, "a re-embedding command cannot go on now"),
        (413, "past a size limit"), (422, "the request does not match the schema"),
        (503, "Redis, the broker or the Chroma server did not answer"),
        (504, "waited past the time allowed"))
}


def error(status: int, code: str, message: str, **more) -> JSONResponse:
    """The error response."""
    return JSONResponse({"error": {"code": code, "message": message, **more}}, status_code=status)


def install(app: FastAPI) -> None:
    """Make every failure of `app` answer in the one JSON shape."""

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        response = error(exc.status_code, _code(exc.status_code), str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"where": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()]
        return error(422, "invalid-request", "; ".join(f"{p['where']}: {p['problem']}" for p in problems),
                     problems=problems)

    @app.exception_handler(IngestError)
    async def ingest_error(_: Request, exc: IngestError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return error(status, exc.code, str(exc))

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return error(400, "invalid", str(exc))

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def redis_down(_: Request, exc: Exception) -> JSONResponse:
        return error(503, "redis-unavailable", f"Redis did not answer: {exc}")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error(500, "internal", f"{type(exc).__name__}: the server failed; see its log")


def _code(status: int) -> str:
    return {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
            405: "method-not-allowed", 413: "too-large", 415: "unsupported-media-type",
            }.get(status, f"http-{status}")
