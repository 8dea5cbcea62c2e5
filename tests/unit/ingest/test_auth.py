"""Token and HMAC checks: every live secret works, anything else is 401 without echo."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ingest.auth import check_signature, check_token, sign
from ingest.errors import UnauthorizedError

SECRETS = [SecretStr("old-secret-still-live"), SecretStr("new-secret-rotated-in")]


@pytest.mark.parametrize("secret", ["old-secret-still-live", "new-secret-rotated-in"])
def test_any_live_secret_in_header_or_query_passes(secret: str) -> None:
    check_token(secret, None, SECRETS)
    check_token(None, secret, SECRETS)


def test_header_wins_over_query() -> None:
    with pytest.raises(UnauthorizedError):
        check_token("wrong-token-in-header", "new-secret-rotated-in", SECRETS)


@pytest.mark.parametrize(
    ("header", "query", "message"),
    [
        (None, None, "missing"),
        ("", None, "missing"),
        ("old-secret-still-liv", None, "invalid"),
        ("old-secret-still-live ", None, "invalid"),
        ("x" * 10_000, None, "invalid"),
        ("ünïcode-tökén", None, "invalid"),
    ],
)
def test_bad_tokens_are_unauthorized(header: str | None, query: str | None, message: str) -> None:
    with pytest.raises(UnauthorizedError, match=message) as info:
        check_token(header, query, SECRETS)
    assert "secret" not in str(info.value)
    assert info.value.http_status == 401


def test_signature_not_required_without_hmac_secrets() -> None:
    check_signature(b"{}", None, [])


def test_signature_of_the_raw_body_with_any_hmac_secret() -> None:
    body = b'{"item": {"item_id": "1"}}'
    keys = [SecretStr("hmac-one-0000000000"), SecretStr("hmac-two-0000000000")]
    check_signature(body, sign(body, "hmac-two-0000000000"), keys)
    check_signature(body, sign(body, "hmac-one-0000000000").upper(), keys)
    with pytest.raises(UnauthorizedError, match="missing"):
        check_signature(body, None, keys)
    with pytest.raises(UnauthorizedError, match="invalid"):
        check_signature(body + b" ", sign(body, "hmac-one-0000000000"), keys)
