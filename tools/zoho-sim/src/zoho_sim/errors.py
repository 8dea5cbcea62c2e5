"""Zoho's errors: an HTTP status and a ``{"code", "message"}`` body (docs/zoho-api.md#error-format).

Raise :class:`ZohoError` anywhere in request handling; the API layer renders it. The messages
are Zoho's own where the facts file quotes them.
"""

from __future__ import annotations

from typing import Final

AUTH_INVALID_MESSAGE: Final = (
    "The request could not be authenticated as the authentication value you entered is invalid. "
    "Enter a valid authentication value and try again."
)
NOT_AUTHORIZED_MESSAGE: Final = "You are not authorized to perform this operation"
PER_MINUTE_MESSAGE: Final = (
    "For security reasons your organization has been blocked as it have exceeded the maximum "
    "number of requests per minute that can originate from an organization."
)
IN_FLIGHT_MESSAGE: Final = (
    "You have reached the maximum number of in process requests allowed. "
    "Kindly try again after some time."
)
INVALID_URL_MESSAGE: Final = "Invalid URL Passed"
INTERNAL_ERROR_MESSAGE: Final = "Internal Error"


def daily_message(quota: int) -> str:
    return (
        f"The API call for this organization has exceeded the maximum call rate limit of {quota}."
    )


def wrong_org_message(org_id: str) -> str:
    return f"This user is not associated with the CompanyID/CompanyName:{org_id}."


def invalid_value_message(param: str) -> str:
    return f"Invalid value passed for {param}"


class ZohoError(Exception):
    """An answer in Zoho's error envelope; ``headers`` are added to the response."""

    def __init__(
        self, http_status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}


def invalid_value(param: str) -> ZohoError:
    return ZohoError(400, 2, invalid_value_message(param))


def not_found(label: str) -> ZohoError:
    return ZohoError(404, 1002, f"{label} does not exist.")
