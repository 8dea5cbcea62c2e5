"""Token and HMAC checks: every live secret works for its organizations, anything else is 401
(or 403 for another organization) without echo."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ingest.auth import WebhookToken, check_org, check_signature, check_token, sign
from ingest.errors import OrgNotAllowedError, UnauthorizedError

ORG, OTHER = "60000000001", "60000000002"
SECRETS = [
    WebhookToken(token=SecretStr("old-secret-still-live"), orgs=frozenset({ORG})),
    WebhookToken(token=SecretStr("new-secret-rotated-in"), orgs=frozenset({ORG})),
    WebhookToken(token=SecretStr("other-orgs-own-secret"), orgs=frozenset({OTHER})),
]


@pytest.mark.parametrize("secret", ["old-secret-still-live", "new-secret-rotated-in"])
def test_any_live_secret_in_header_or_query_passes(secret: str) -> None:
    assert check_token(secret, None, SECRETS) == {ORG}
    assert check_token(None, secret, SECRETS) == {ORG}


def test_a_token_writes_only_its_own_organizations() -> None:
    """Any token holder could write any organization before (issue 17): now 403."""
    allowed = check_token("other-orgs-own-secret", None, SECRETS)
    check_org(OTHER, allowed)
    with pytest.raises(OrgNotAllowedError, match=ORG) as info:
        check_org(ORG, allowed)
    assert info.value.http_status == 403 and "secret" not in str(info.value)


def test_a_token_listed_for_several_organizations_writes_each() -> None:
    shared = [
        *SECRETS,
        WebhookToken(token=SecretStr("other-orgs-own-secret"), orgs=frozenset({ORG})),
    ]
    assert check_token("other-orgs-own-secret", None, shared) == {ORG, OTHER}


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
