"""zoho-proxy's errors: subclasses of the shared tree, each with the HTTP status callers see.

BudgetExhaustedError   429 + Retry-After: our budget (never Zoho's 429) is spent for now
ZohoUnavailableError   503: Zoho unreachable or too slow after the retries
ZohoServerError        502: Zoho kept answering 5xx after the retries
TokenUnavailableError  503 + Retry-After: no access token now (lockout, failing endpoint)
TokenRevokedError      503: the refresh token is revoked or the client rejected; needs a human
ScopeMissingError      403: the refresh token's OAuth scopes do not cover the call; needs a human
NotFoundError          404: unknown entity, or a record absent in every source
BadRequestError        400: the caller's request cannot be served (e.g. no organization)
WritesRefusedError     403: a write through the pass-through by a caller that may not write
"""

from __future__ import annotations

from tds_common.auth import ForbiddenError
from tds_common.errors import (
    PermanentError,
    TransientError,
    UpstreamRateLimitedError,
    UpstreamUnavailableError,
)


class BudgetExhaustedError(UpstreamRateLimitedError):
    """The call would exceed the per-minute, daily or in-flight budget beyond the wait bound."""

    error_code = "budget_exhausted"


class ZohoUnavailableError(UpstreamUnavailableError):
    """Zoho could not be reached (connect error, timeout) after the retries."""

    error_code = "zoho_unavailable"


class ZohoServerError(UpstreamUnavailableError):
    """Zoho answered 5xx after the retries."""

    http_status = 502
    error_code = "zoho_server_error"


class TokenUnavailableError(TransientError):
    """No access token for now: Zoho locked minting, or the token endpoint is failing."""

    error_code = "zoho_token_unavailable"


class TokenRevokedError(PermanentError):
    """Zoho rejected the refresh token or client (``invalid_code``, ``invalid_client``…).

    Nothing the proxy can do fixes this: an operator must issue a new refresh token.
    """

    http_status = 503
    error_code = "zoho_token_revoked"


class ScopeMissingError(PermanentError):
    """Zoho refused the call (code 57) while the access token works: a scope is missing.

    A new access token would not help (it has the refresh token's scopes), so none is minted;
    an operator must issue a refresh token with the module's scope.
    """

    http_status = 403
    error_code = "zoho_scope_missing"


class NotFoundError(PermanentError):
    """An unknown entity, or a record that no source has."""

    http_status = 404
    error_code = "not_found"


class BadRequestError(PermanentError):
    """The caller's request is malformed (bad lane, no organization)."""

    error_code = "bad_request"


class WritesRefusedError(ForbiddenError):
    """POST/PUT/PATCH/DELETE through the pass-through by a caller not in the writer tokens."""

    error_code = "writes_refused"
