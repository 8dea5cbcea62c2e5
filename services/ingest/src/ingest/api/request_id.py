"""A request id for every request: taken from ``X-Request-ID`` when sane, else a new one.

Pure ASGI (no body buffering): it only stores the id in ``request.state.request_id`` and echoes
it in the response's ``X-Request-ID`` header so a Zoho delivery can be matched to our logs.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "X-Request-ID"
_SANE: Final = re.compile(r"^[0-9A-Za-z._-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = Headers(scope=scope).get(HEADER, "")
        request_id = presented if _SANE.match(presented) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
