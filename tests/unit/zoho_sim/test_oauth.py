"""TokenAuthority variants behind settings: the documented lockout, the 30-token cap."""

from __future__ import annotations

from zoho_sim.clock import Clock
from zoho_sim.oauth import ACCESS_DENIED_BODY, TokenAuthority
from zoho_sim.settings import DEFAULT_REFRESH_TOKEN, OAuthSettings

PARAMS = {
    "grant_type": "refresh_token",
    "client_id": "1000.LOCALSIMULATORCLIENT",
    "client_secret": "local-simulator-secret",
    "refresh_token": DEFAULT_REFRESH_TOKEN,
}


def _authority(**settings: object) -> tuple[TokenAuthority, Clock]:
    clock = Clock()
    return TokenAuthority(OAuthSettings.model_validate(settings), clock), clock


def test_lockout_zero_means_blocked_for_the_rest_of_the_window() -> None:
    authority, clock = _authority(lockout_seconds=0)
    for _ in range(10):
        assert authority.token(PARAMS, "http://sim").status == 200
        clock.advance(10)
    denied = authority.token(PARAMS, "http://sim")
    assert (denied.status, denied.body) == (400, ACCESS_DENIED_BODY)
    clock.advance(600 - 100 + 1)  # the first mint leaves the window
    assert authority.token(PARAMS, "http://sim").status == 200


def test_retries_do_not_extend_when_configured_off() -> None:
    authority, clock = _authority(lockout_extends_on_retry=False, lockout_seconds=100)
    for _ in range(11):
        authority.token(PARAMS, "http://sim")
    clock.advance(99)
    assert authority.token(PARAMS, "http://sim").status == 400
    clock.advance(505)  # lockout over and the 10 mints out of the window
    assert authority.token(PARAMS, "http://sim").status == 200


def test_thirty_token_cap_variant() -> None:
    authority, _ = _authority(mint_limit=100, max_active_access_tokens=30)
    tokens = [authority.token(PARAMS, "d").body["access_token"] for _ in range(31)]
    assert authority.check(tokens[0]) == "revoked"
    assert {authority.check(t) for t in tokens[1:]} == {"valid"}


def test_snapshot_never_shows_token_values() -> None:
    authority, _ = _authority()
    token = authority.token(PARAMS, "d").body["access_token"]
    text = repr(authority.snapshot())
    assert DEFAULT_REFRESH_TOKEN not in text and token not in text


def test_lockout_can_answer_access_denied_with_http_200() -> None:
    authority, _ = _authority(mint_limit=1, lockout_http_status=200)
    assert "access_token" in authority.token(PARAMS, "http://sim").body
    denied = authority.token(PARAMS, "http://sim")
    assert (denied.status, denied.body) == (200, ACCESS_DENIED_BODY)
