"""Webhook authentication (docs/architecture.md#webhook-authentication): a token, maybe an HMAC.

Zoho Books/Inventory do not sign webhooks; the workflow action carries a secret we chose, in the
``X-TDS-Webhook-Token`` header or a ``token`` query parameter. Every configured secret is compared
(constant time, and all of them every time, so timing does not reveal which one or how many
matched). The token is checked before a single byte of the body is read. When HMAC secrets are
configured, ``X-Zoho-Webhook-Signature`` (hex HMAC-SHA256 of the raw body) is required as well;
that check needs the body, so it runs after reading it and before parsing it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

from pydantic import SecretStr

from ingest.errors import UnauthorizedError

TOKEN_HEADER: Final = "X-TDS-Webhook-Token"
TOKEN_QUERY: Final = "token"
SIGNATURE_HEADER: Final = "X-Zoho-Webhook-Signature"
MAX_TOKEN_CHARS: Final = 512
"""Longer presented tokens are refused without comparing (cheap protection against junk)."""


def _matches_any(presented: bytes, secrets: Sequence[SecretStr]) -> bool:
    matched = False
    for secret in secrets:
        # No early exit: every secret costs the same whichever one matches.
        matched |= hmac.compare_digest(presented, secret.get_secret_value().encode())
    return matched


def check_token(
    header_token: str | None, query_token: str | None, secrets: Sequence[SecretStr]
) -> None:
    """Raise :class:`UnauthorizedError` unless the header or query token is a live secret."""
    presented = header_token if header_token is not None else query_token
    if not presented:
        raise UnauthorizedError(f"missing webhook token ({TOKEN_HEADER} header or ?token=)")
    if len(presented) > MAX_TOKEN_CHARS or not _matches_any(presented.encode(), secrets):
        raise UnauthorizedError("invalid webhook token")


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 Zoho (or a test) puts in ``X-Zoho-Webhook-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(body: bytes, signature: str | None, secrets: Sequence[SecretStr]) -> None:
    """When ``secrets`` is non-empty, require a signature made with one of them."""
    if not secrets:
        return
    if not signature:
        raise UnauthorizedError(f"missing {SIGNATURE_HEADER} header")
    presented = signature.strip().lower().encode()
    matched = False
    for secret in secrets:
        expected = sign(body, secret.get_secret_value()).encode()
        matched |= hmac.compare_digest(presented, expected)
    if not matched:
        raise UnauthorizedError("invalid webhook signature")
