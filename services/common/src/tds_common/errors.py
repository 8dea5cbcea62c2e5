"""The error tree every TDS service speaks; callers act on the class alone.

    ServiceError                     base; ``retriable`` says whether trying again can help
    ├── ConfigurationError           fatal at startup
    ├── TransientError               retriable; ``retry_after_seconds`` when known
    │   ├── UpstreamUnavailableError timeouts, refused connections, 5xx, a database that is down
    │   └── UpstreamRateLimitedError 429 / a budget that is spent for now
    ├── PermanentError               never retried
    │   ├── InvalidMessageError      a Kafka record or payload that can never be processed
    │   └── UpstreamRejectedError    other 4xx from an upstream; status + a truncated body
    └── FatalError                   the process must stop; Kubernetes restarts it

Client, Kafka and database modules translate library exceptions at their boundary with
``raise OurError(...) from exc`` so that httpx, asyncpg and aiokafka types never leak.
"""

from __future__ import annotations

from typing import ClassVar, Final

ERROR_TEXT_MAX_CHARS: Final = 256
"""Upstream bodies are cut to this length before they reach logs or error messages."""


def truncate(text: str, limit: int = ERROR_TEXT_MAX_CHARS) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ServiceError(Exception):
    """Base of every error TDS raises on purpose. Catch this to handle "ours" errors."""

    retriable: ClassVar[bool] = False
    http_status: ClassVar[int] = 500
    error_code: ClassVar[str] = "internal_error"


class ConfigurationError(ServiceError):
    """Settings are missing or inconsistent; raised at startup so the pod crash-loops visibly."""

    error_code = "configuration_error"


class TransientError(ServiceError):
    """Something outside us failed for now; the same call may succeed later."""

    retriable = True
    http_status = 503
    error_code = "temporarily_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailableError(TransientError):
    """Timeouts, refused connections, 5xx, a broker or database that is down."""

    error_code = "upstream_unavailable"


class UpstreamRateLimitedError(TransientError):
    """The upstream (or our own budget) says not now; honour ``retry_after_seconds``."""

    http_status = 429
    error_code = "rate_limited"


class PermanentError(ServiceError):
    """Retrying cannot help: the input or the request is wrong."""

    http_status = 400
    error_code = "bad_request"


class InvalidMessageError(PermanentError):
    """A record that can never be processed; it goes to the dead-letter topic."""

    error_code = "invalid_message"


class UpstreamRejectedError(PermanentError):
    """An upstream answered with a 4xx other than 429; carries its status and a cut body."""

    error_code = "upstream_rejected"

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        super().__init__(f"{message} (HTTP {status_code}): {truncate(body)}")
        self.status_code = status_code
        self.body = truncate(body)


class FatalError(ServiceError):
    """The process cannot continue; stop and let Kubernetes restart it."""

    error_code = "fatal"
