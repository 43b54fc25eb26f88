"""The request size limit (INGEST_API_MAX_REQUEST_BYTES), counted as the body arrives.

A declared Content-Length past it is refused before the body is read; a body that grows
past it while read (chunked, or a lying length) ends in BodyTooLarge, a 413.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_tasks.core.errors import TooLarge
from ingest_tasks.interfaces.http.errors import error


class BodyTooLarge(TooLarge):
    """The request's body is past INGEST_API_MAX_REQUEST_BYTES."""


class LimitBody:
    """ASGI middleware: refuse a request body of more than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await error(413, BodyTooLarge.code, self._message())(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is over {self.max_bytes} bytes (INGEST_API_MAX_REQUEST_BYTES)"
