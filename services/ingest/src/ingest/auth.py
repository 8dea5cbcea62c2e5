"""Webhook authentication (docs/architecture.md#webhook-authentication): a token, maybe an HMAC.

Zoho Books/Inventory do not sign webhooks; the workflow action carries a secret we chose, in the
``X-TDS-Webhook-Token`` header (preferred: a ``?token=`` query parameter also works, but lands in
the ingress's access logs). Every configured secret is compared (constant time, and all of them
every time, so timing does not reveal which one or how many matched). Each secret is bound to the
organizations it may write (:class:`WebhookToken`); a live token naming another organization is
403 (:func:`check_org`). Both checks run before a single byte of the body is read. When HMAC
secrets are configured, ``X-Zoho-Webhook-Signature`` (hex HMAC-SHA256 of the raw body) is
required as well; that check needs the body, so it runs after reading it and before parsing it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict, SecretStr

from ingest.errors import OrgNotAllowedError, UnauthorizedError
from tds_common.identifiers import OrgId

TOKEN_HEADER: Final = "X-TDS-Webhook-Token"
SIGNATURE_HEADER: Final = "X-Zoho-Webhook-Signature"
MAX_TOKEN_CHARS: Final = 512
"""Longer presented tokens are refused without comparing (cheap protection against junk)."""


class WebhookToken(BaseModel):
    """One accepted webhook secret and the organizations whose records it may write."""

    model_config = ConfigDict(frozen=True)

    token: SecretStr
    orgs: frozenset[OrgId]
    """Empty only before settings bind it (to ``ZOHO_ORGANIZATION_ID``); never at runtime."""


def check_token(
    header_token: str | None, query_token: str | None, secrets: Sequence[WebhookToken]
) -> frozenset[str]:
    """The organizations the header or query token may write; :class:`UnauthorizedError`
    unless it is a live secret. A secret listed under several organizations writes them all."""
    presented = header_token if header_token is not None else query_token
    if not presented:
        raise UnauthorizedError(f"missing webhook token ({TOKEN_HEADER} header or ?token=)")
    if len(presented) > MAX_TOKEN_CHARS:
        raise UnauthorizedError("invalid webhook token")
    candidate = presented.encode()
    allowed: frozenset[str] = frozenset()
    matched = False
    for secret in secrets:
        # No early exit: every secret costs the same whichever one matches.
        hit = hmac.compare_digest(candidate, secret.token.get_secret_value().encode())
        matched |= hit
        allowed |= secret.orgs if hit else frozenset()
    if not matched:
        raise UnauthorizedError("invalid webhook token")
    return allowed


def check_org(org: str, allowed: frozenset[str]) -> None:
    """:class:`OrgNotAllowedError` unless the token may write ``org``."""
    if org not in allowed:
        # The message names the organization we parsed, never the token.
        raise OrgNotAllowedError(f"this webhook token may not write organization {org}")


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
