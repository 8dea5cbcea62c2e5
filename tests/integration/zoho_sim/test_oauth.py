"""Token endpoint rules (docs/zoho-api.md#oauth), driven over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable

from zoho_sim.settings import DEFAULT_REFRESH_TOKEN

from .helpers import TOKEN_RE, SimClient, refresh_params

ACCESS_DENIED = {
    "error_description": (
        "You have made too many requests continuously. Please try again after some time."
    ),
    "error": "Access Denied",
    "status": "failure",
}
NOT_AUTHORIZED = {"code": 57, "message": "You are not authorized to perform this operation"}


def test_refresh_grant_in_query_string_answers_the_documented_shape(sim: SimClient) -> None:
    response = sim.mint()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "api_domain", "token_type", "expires_in"}
    assert re.match(TOKEN_RE, body["access_token"])
    assert body["api_domain"] == sim.base_url
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert sim.get("/items", token=body["access_token"]).status_code == 200


def test_refresh_grant_in_form_body_works(sim: SimClient) -> None:
    response = sim.http.post("/oauth/v2/token", data=refresh_params())
    assert response.status_code == 200
    assert "access_token" in response.json()


def test_json_body_is_rejected_as_invalid_client(sim: SimClient) -> None:
    response = sim.http.post("/oauth/v2/token", json=refresh_params())
    assert response.status_code == 200
    assert response.json() == {"error": "invalid_client"}


def test_get_on_token_endpoint_is_not_a_token(sim: SimClient) -> None:
    response = sim.http.get("/oauth/v2/token", params=refresh_params())
    assert response.status_code == 405


def test_credential_errors_answer_http_200_with_error_key(sim: SimClient) -> None:
    cases = {
        "invalid_client": {"client_id": "1000.SOMEONEELSE"},
        "invalid_client_secret": {"client_secret": "wrong"},
        "invalid_code": {"refresh_token": "1000.aaaa.bbbb"},
        "unsupported_grant_type": {"grant_type": "password"},
    }
    for error, override in cases.items():
        response = sim.mint(**override)
        assert response.status_code == 200
        assert response.json() == {"error": error}
    assert sim.counters()["oauth"]["errors"] == dict.fromkeys(cases, 1)
    assert sim.counters()["oauth"]["mints"] == 0


def test_eleventh_mint_in_ten_minutes_is_access_denied_and_retries_extend_lockout(
    sim: SimClient,
) -> None:
    for _ in range(10):
        assert sim.mint().status_code == 200
    denied = sim.mint()
    assert denied.status_code == 400
    assert denied.json() == ACCESS_DENIED
    # 800 s into the 900 s lockout a retry restarts it: 1,000 s after the trip it still holds.
    sim.control("POST", "/clock", json={"advance_seconds": 800})
    assert sim.mint().status_code == 400
    sim.control("POST", "/clock", json={"advance_seconds": 200})
    assert sim.mint().json() == ACCESS_DENIED
    # Quiet for the whole lockout: minting works again.
    sim.control("POST", "/clock", json={"advance_seconds": 901})
    assert sim.mint().status_code == 200
    oauth = sim.control("GET", "/oauth")
    assert oauth["access_denied"] == 3
    assert oauth["refresh_tokens"][0]["token"] == "default"


def test_mints_spread_over_the_window_do_not_trip_the_limit(sim: SimClient) -> None:
    for _ in range(10):
        assert sim.mint().status_code == 200
        sim.control("POST", "/clock", json={"advance_seconds": 61})
    assert sim.mint().status_code == 200


def test_expired_token_answers_code_57(sim: SimClient) -> None:
    token = sim.token
    sim.control("POST", "/clock", json={"advance_seconds": 3599})
    assert sim.get("/items", token=token).status_code == 200
    sim.control("POST", "/clock", json={"advance_seconds": 1})
    response = sim.get("/items", token=token)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHORIZED


def test_active_token_cap_invalidates_the_oldest(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(oauth={"mint_limit": 100, "max_active_access_tokens": 15})
    tokens = [sim.mint().json()["access_token"] for _ in range(16)]
    assert sim.get("/items", token=tokens[0]).json() == NOT_AUTHORIZED
    for token in tokens[1:]:
        assert sim.get("/items", token=token).status_code == 200


def test_revoking_an_access_token_and_a_refresh_token(sim: SimClient) -> None:
    first, second = (sim.mint().json()["access_token"] for _ in range(2))
    response = sim.http.post("/oauth/v2/token/revoke", params={"token": first})
    assert response.status_code == 200
    assert sim.get("/items", token=first).json() == NOT_AUTHORIZED
    assert sim.get("/items", token=second).status_code == 200
    sim.http.post("/oauth/v2/token/revoke", data={"token": DEFAULT_REFRESH_TOKEN})
    assert sim.get("/items", token=second).json() == NOT_AUTHORIZED
    assert sim.mint().json() == {"error": "invalid_code"}


def test_control_api_revokes_every_access_token(sim: SimClient) -> None:
    token = sim.token
    assert sim.control("POST", "/oauth/revoke", json={"access_tokens": True}) == {
        "access_tokens_revoked": 1,
        "refresh_tokens_revoked": 0,
    }
    assert sim.get("/items", token=token).json() == NOT_AUTHORIZED
    assert sim.mint().status_code == 200


def test_authorization_code_grant_is_single_use_and_yields_a_refresh_token(
    sim: SimClient,
) -> None:
    code = sim.control("POST", "/oauth/grant-codes", json={"redirect_uri": "http://cb"})["code"]
    params = {
        "grant_type": "authorization_code",
        "client_id": refresh_params()["client_id"],
        "client_secret": refresh_params()["client_secret"],
        "redirect_uri": "http://cb",
        "code": code,
    }
    body = sim.http.post("/oauth/v2/token", params=params).json()
    assert set(body) == {"access_token", "refresh_token", "api_domain", "token_type", "expires_in"}
    assert re.match(TOKEN_RE, body["refresh_token"])
    assert sim.http.post("/oauth/v2/token", params=params).json() == {"error": "invalid_code"}
    assert sim.mint(refresh_token=body["refresh_token"]).status_code == 200
    late = sim.control("POST", "/oauth/grant-codes")["code"]
    sim.control("POST", "/clock", json={"advance_seconds": 121})
    params.update(code=late, redirect_uri="")
    assert sim.http.post("/oauth/v2/token", params=params).json() == {"error": "invalid_code"}


def test_twenty_first_refresh_token_invalidates_the_oldest(sim: SimClient) -> None:
    base = {k: v for k, v in refresh_params().items() if k.startswith("client")}
    for _ in range(20):
        code = sim.control("POST", "/oauth/grant-codes")["code"]
        params = {"grant_type": "authorization_code", "code": code, **base}
        assert "refresh_token" in sim.http.post("/oauth/v2/token", params=params).json()
    # The configured refresh token was the first of 21: it is gone.
    assert sim.mint().json() == {"error": "invalid_code"}


def test_token_endpoint_failure_fault(sim: SimClient) -> None:
    sim.control("PUT", "/faults", json={"token_fail_next": 1})
    assert sim.mint().status_code == 500
    assert sim.mint().status_code == 200
