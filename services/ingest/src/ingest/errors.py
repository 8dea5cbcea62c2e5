"""Why ingest turns a webhook away, one class per answer Zoho (or a scanner) can get.

Each class carries its HTTP status and a stable ``reason`` that labels metrics and the inbox
stats. Messages are written here, from fixed text and values we parsed, never from headers or
query parameters, so a token can never be echoed back.

    PermanentError (tds_common)
    ├── UnauthorizedError        401 missing/wrong token or signature
    ├── OrgNotAllowedError       403 a live token not bound to the webhook's organization
    ├── MalformedPayloadError    400 not JSON / not form-encoded
    ├── InvalidParameterError    400 bad org id or operation in the URL/headers
    ├── UnknownEntityError       404 not one of the webhook entities
    ├── PayloadTooLargeError     413 body over INGEST_MAX_BODY_BYTES
    ├── UnsupportedMediaError    415 neither application/json nor form-encoded
    ├── InvalidRecordError       422 no id / no last_modified_time / wrong shape (with details)
    └── ClientDisconnectedError  499 the sender went away before the body was complete
    UpstreamUnavailableError (tds_common)
    └── PublishUnavailableError  503 + Retry-After: Kafka did not acknowledge in time
"""

from __future__ import annotations

from typing import ClassVar

from tds_common.errors import PermanentError, UpstreamUnavailableError


class RejectedWebhookError(PermanentError):
    """Base of the 4xx answers; ``reason`` is a bounded label for metrics and stats."""

    reason: ClassVar[str] = "bad_request"


class UnauthorizedError(RejectedWebhookError):
    http_status = 401
    error_code = "unauthorized"
    reason = "unauthorized"


class OrgNotAllowedError(RejectedWebhookError):
    """The token is live but bound to other organizations (``WEBHOOK_SECRETS``)."""

    http_status = 403
    error_code = "org_not_allowed"
    reason = "org_not_allowed"


class MalformedPayloadError(RejectedWebhookError):
    http_status = 400
    error_code = "malformed_payload"
    reason = "malformed"


class InvalidParameterError(RejectedWebhookError):
    http_status = 400
    error_code = "invalid_parameter"
    reason = "invalid_parameter"


class UnknownEntityError(RejectedWebhookError):
    http_status = 404
    error_code = "unknown_entity"
    reason = "unknown_entity"


class PayloadTooLargeError(RejectedWebhookError):
    http_status = 413
    error_code = "payload_too_large"
    reason = "too_large"


class UnsupportedMediaError(RejectedWebhookError):
    http_status = 415
    error_code = "unsupported_media_type"
    reason = "unsupported_media_type"


class InvalidRecordError(RejectedWebhookError):
    """The body parsed but is not a usable record; ``errors`` says which field and why."""

    http_status = 422
    error_code = "invalid_record"
    reason = "invalid_record"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class ClientDisconnectedError(RejectedWebhookError):
    """The sender closed the connection mid-body: nothing to publish, nobody to answer.

    499 is nginx's "client closed request"; the sender never sees it, it only keeps the
    metrics and logs from calling this a server error.
    """

    http_status = 499
    error_code = "client_disconnected"
    reason = "client_disconnected"


class PublishUnavailableError(UpstreamUnavailableError):
    """Kafka did not acknowledge within the bound: 503 so Zoho delivers it again later."""

    reason: ClassVar[str] = "kafka_unavailable"
