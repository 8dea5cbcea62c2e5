"""Reading Zoho's token endpoint answers, including errors sent with HTTP 200."""

from __future__ import annotations

import pytest

from zoho_proxy.tokens import classify_token_response, credential_key


def test_success_with_modern_shape() -> None:
    outcome = classify_token_response(
        200, {"access_token": "1000.x.y", "expires_in": 3600, "token_type": "Bearer"}
    )
    assert outcome.state == "ok"
    assert outcome.access_token == "1000.x.y"
    assert outcome.expires_in_seconds == 3600


def test_historic_milliseconds_shape() -> None:
    outcome = classify_token_response(
        200, {"access_token": "t", "expires_in": 3600000, "expires_in_sec": 3600}
    )
    assert outcome.expires_in_seconds == 3600


@pytest.mark.parametrize("error", ["invalid_code", "invalid_client", "invalid_client_secret"])
def test_http_200_errors_mean_revoked_credentials(error: str) -> None:
    outcome = classify_token_response(200, {"error": error})
    assert outcome.state == "revoked"
    assert outcome.access_token is None
    assert outcome.error == error


@pytest.mark.parametrize("status", [400, 200, 403, 429])
def test_access_denied_is_the_lockout_whatever_the_status(status: int) -> None:
    body = {
        "error_description": "You have made too many requests continuously. "
        "Please try again after some time.",
        "error": "Access Denied",
        "status": "failure",
    }
    outcome = classify_token_response(status, body)
    assert outcome.state == "locked_out"
    assert outcome.error == "access_denied"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"code": 1000}), (502, None), (200, {"error": "something_new"}), (200, "oops")],
)
def test_other_failures_are_transient(status: int, body: object) -> None:
    outcome = classify_token_response(status, body)
    assert outcome.state == "failing"
    assert outcome.access_token is None


def test_credential_key_hides_the_refresh_token() -> None:
    key = credential_key("1000.CLIENT", "1000.secretpart.more")
    assert "secretpart" not in key
    assert key != credential_key("1000.CLIENT", "1000.other.more")
