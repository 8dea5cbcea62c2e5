"""Reading a webhook body: content type first, then the bytes, never more than the limit.

The media type is checked from the header before reading (415 costs nothing). The body is read
chunk by chunk and reading stops as soon as the limit is passed, so a huge or endless upload
costs at most ``max_body_bytes`` of memory; a ``Content-Length`` above the limit is refused
without reading at all. A sender that disconnects mid-body is :class:`ClientDisconnectedError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, Literal

from starlette.requests import ClientDisconnect

from ingest.errors import ClientDisconnectedError, PayloadTooLargeError, UnsupportedMediaError

MediaType = Literal["json", "form"]

JSON_MEDIA_TYPES: Final = frozenset({"application/json", "text/json"})
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> MediaType:
    """``json`` or ``form`` from a Content-Type header (parameters such as charset ignored)."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence in JSON_MEDIA_TYPES or (
        essence.startswith("application/") and essence.endswith("+json")
    ):
        return "json"
    if essence == FORM_MEDIA_TYPE:
        return "form"
    raise UnsupportedMediaError(
        "unsupported Content-Type: send application/json or application/x-www-form-urlencoded"
    )


async def read_limited(
    chunks: AsyncIterator[bytes], content_length: str | None, max_bytes: int
) -> bytes:
    """The whole body, or :class:`PayloadTooLargeError` once it exceeds ``max_bytes``."""
    too_large = PayloadTooLargeError(f"request body exceeds {max_bytes} bytes")
    if content_length is not None and content_length.strip().isdigit():
        if int(content_length) > max_bytes:
            raise too_large
    received = bytearray()
    try:
        async for chunk in chunks:
            received += chunk
            if len(received) > max_bytes:
                raise too_large
    except ClientDisconnect as exc:
        raise ClientDisconnectedError("client disconnected before the body was complete") from exc
    return bytes(received)
