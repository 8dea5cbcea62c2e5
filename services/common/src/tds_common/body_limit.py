"""A bound on request bodies for the services' APIs (ingest bounds its webhooks itself).

A ``Content-Length`` above the bound is answered 413 before the app runs. A body without one
(chunked) is counted as the endpoint reads it, and the read that passes the bound fails with
413, so the endpoint does nothing and holds at most the bound in memory.

Starlette's own ``RequestBodyLimitMiddleware`` (FastAPI's ``max_body_size``) answers the first
case in plain text, outside the error envelope every caller of ours parses.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tds_common.error_bodies import http_error_response


class BodyLimitMiddleware:
    """413 ``payload_too_large`` (the app's HTTPException handler) past ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> HTTPException:
        return HTTPException(413, f"request body exceeds {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, receive_counted, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await http_error_response(self._too_large())(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
