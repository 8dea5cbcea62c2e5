"""Bearer tokens between services (docs/architecture.md, "Authentication").

Every call between TDS services carries ``Authorization: Bearer <token>``; each caller has a
token of its own (a Kubernetes Secret per service in the chart, generated files locally), and a
service accepts a list of tokens so one can be rotated by adding the new one, switching the
caller, then removing the old one. ``/health``, ``/ready`` and ``/metrics`` stay open.

Presented tokens are compared with every accepted one in constant time (no early exit, so
timing tells neither which one matched nor how many there are). Tokens never reach logs, error
bodies or metrics: settings hold them as ``SecretStr`` and messages name positions, not values.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from tds_common.errors import PermanentError

MIN_TOKEN_CHARS: Final = 24
"""Shorter tokens are guessable; ``make up`` generates 43 characters (``secrets.token_urlsafe``)."""
MAX_TOKEN_CHARS: Final = 512
"""Longer presented tokens are refused without comparing (cheap protection against junk)."""
SCHEME: Final = "bearer"


class UnauthenticatedError(PermanentError):
    """No token, or one this service does not accept: 401."""

    http_status = 401
    error_code = "unauthenticated"


class ForbiddenError(PermanentError):
    """An accepted token that may not do this: 403."""

    http_status = 403
    error_code = "forbidden"


def _split(value: Any) -> Any:
    """``"a,b"`` → ``["a", "b"]`` (blanks dropped); lists (from code) pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _long_enough(tokens: list[SecretStr]) -> list[SecretStr]:
    """Each token long enough to be unguessable; the message names the position only."""
    for position, token in enumerate(tokens, start=1):
        if len(token.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"token #{position} is shorter than {MIN_TOKEN_CHARS} characters")
    return tokens


AcceptedTokens = Annotated[
    list[SecretStr], NoDecode, BeforeValidator(_split), AfterValidator(_long_enough)
]
"""A settings field of accepted tokens: comma-separated in the environment, each at least
:data:`MIN_TOKEN_CHARS` long. Keep ``hide_input_in_errors`` on (``service_config`` does)."""


def presented_token(request: Request) -> str:
    """The bearer token of ``request``; :class:`UnauthenticatedError` when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != SCHEME or not token:
        raise UnauthenticatedError("missing bearer token (Authorization: Bearer <token>)")
    return token


def matches_any(presented: str, accepted: Sequence[SecretStr]) -> bool:
    """Whether ``presented`` is one of ``accepted``, every one compared in constant time."""
    if len(presented) > MAX_TOKEN_CHARS:
        return False
    candidate = presented.encode()
    matched = False
    for token in accepted:
        # No early exit: every token costs the same whichever one matches.
        matched |= hmac.compare_digest(candidate, token.get_secret_value().encode())
    return matched


def authenticate(request: Request, accepted: Sequence[SecretStr]) -> str:
    """The request's token if it is one of ``accepted``, else :class:`UnauthenticatedError`
    (an empty ``accepted`` refuses everyone: a service without tokens is closed, never open)."""
    token = presented_token(request)
    if not matches_any(token, accepted):
        raise UnauthenticatedError("invalid bearer token")
    return token


def bearer_headers(token: SecretStr | None) -> dict[str, str]:
    """The ``Authorization`` header a caller sends (none without a token)."""
    if token is None:
        return {}
    return {"Authorization": f"Bearer {token.get_secret_value()}"}


def require_bearer(accepted: Sequence[SecretStr]) -> Any:
    """A route dependency (``include_router(..., dependencies=[require_bearer(tokens)])``)
    letting through only requests with one of ``accepted``."""

    def check(request: Request) -> None:
        authenticate(request, accepted)

    return Depends(check)
