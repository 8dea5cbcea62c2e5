"""What every API call must carry: the auth header and organization_id; the error envelope."""

from __future__ import annotations

from collections.abc import Callable

from .helpers import BOOKS, INVENTORY, ORG, SimClient

AUTH_INVALID = {
    "code": 14,
    "message": (
        "The request could not be authenticated as the authentication value you entered is "
        "invalid. Enter a valid authentication value and try again."
    ),
}


def test_missing_or_malformed_auth_header_is_code_14(sim: SimClient) -> None:
    token = sim.token
    for headers in (
        {},
        {"Authorization": f"Bearer {token}"},
        {"Authorization": token},
        {"Authorization": "Zoho-oauthtoken 1000.unknown.token"},
    ):
        response = sim.http.get(f"{BOOKS}/items", params={"organization_id": ORG}, headers=headers)
        assert response.status_code == 401
        assert response.json() == AUTH_INVALID


def test_token_in_query_string_is_not_accepted(sim: SimClient) -> None:
    response = sim.http.get(
        f"{BOOKS}/items", params={"organization_id": ORG, "authtoken": sim.token}
    )
    assert response.status_code == 401
    assert response.json()["code"] == 14


def test_bearer_scheme_when_configured(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(oauth={"accept_bearer_scheme": True})
    response = sim.http.get(
        f"{BOOKS}/items",
        params={"organization_id": ORG},
        headers={"Authorization": f"Bearer {sim.token}"},
    )
    assert response.status_code == 200


def test_missing_organization_id_is_a_400(sim: SimClient) -> None:
    response = sim.get("/items", org=None)
    assert response.status_code == 400
    assert response.json() == {"code": 6041, "message": "Organization ID is required."}


def test_missing_organization_id_falls_back_when_configured(
    custom_sim: Callable[..., SimClient],
) -> None:
    sim = custom_sim(api={"missing_org_fallback": True})
    assert sim.get("/items", org=None).status_code == 200


def test_wrong_organization_id_is_code_6041(sim: SimClient) -> None:
    response = sim.get("/items", org="123456789")
    assert response.status_code == 400
    assert response.json() == {
        "code": 6041,
        "message": "This user is not associated with the CompanyID/CompanyName:123456789.",
    }


def test_organization_header_is_accepted_per_product(sim: SimClient) -> None:
    for root, header in (
        (BOOKS, "X-com-zoho-books-organizationid"),
        (INVENTORY, "X-com-zoho-inventory-organizationid"),
    ):
        response = sim.http.get(f"{root}/items", headers={**sim.auth(), header: ORG})
        assert response.status_code == 200


def test_organizations_needs_no_org_and_has_no_page_context(
    custom_sim: Callable[..., SimClient],
) -> None:
    sim = custom_sim(
        organizations=[
            {"organization_id": ORG, "name": "First"},
            {"organization_id": "70000000002", "name": "Second", "plan": "free"},
        ]
    )
    body = sim.ok("/organizations", org=None)
    assert set(body) == {"code", "message", "organizations"}
    orgs = body["organizations"]
    assert [(o["organization_id"], o["is_default_org"]) for o in orgs] == [
        (ORG, True),
        ("70000000002", False),
    ]
    assert orgs[0]["fiscal_year_start_month"] == "january"
    assert sim.ok("/organizations/70000000002", org=None)["organization"]["name"] == "Second"
    # Each org has its own records.
    first = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    second = sim.ok("/items", org="70000000002", per_page=1)["items"][0]["item_id"]
    assert first != second
    assert sim.get(f"/items/{first}", org="70000000002").status_code == 404


def test_unknown_url_and_method(sim: SimClient) -> None:
    response = sim.get("/nosuchthing")
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "Invalid URL Passed"}
    response = sim.http.post(  # price lists take no writes (routes/writes.py)
        f"{BOOKS}/pricebooks", params={"organization_id": ORG}, headers=sim.auth(), json={}
    )
    assert response.status_code == 405
    assert response.json()["code"] == 37


def test_missing_record_is_404_code_1002(sim: SimClient) -> None:
    for path, message in (
        ("/items/460111999999999999", "Item does not exist."),
        ("/invoices/460113999999999999", "Invoice does not exist."),
        ("/contacts/42", "Contact does not exist."),
        ("/creditnotes/460115999999999999", "Credit Note does not exist."),
    ):
        response = sim.get(path)
        assert response.status_code == 404
        assert response.json() == {"code": 1002, "message": message}


def test_rate_limit_headers_on_every_org_scoped_answer(sim: SimClient) -> None:
    first = sim.get("/items")
    assert first.headers["X-Rate-Limit-Limit"] == "5000"
    remaining = int(first.headers["X-Rate-Limit-Remaining"])
    assert 0 < int(first.headers["X-Rate-Limit-Reset"]) <= 86400
    missing = sim.get("/items/460111999999999999")
    assert int(missing.headers["X-Rate-Limit-Remaining"]) == remaining - 1
    assert "Retry-After" not in missing.headers
    assert first.headers["content-type"] == "application/json;charset=UTF-8"


NOT_AUTHORIZED = {"code": 57, "message": "You are not authorized to perform this operation"}


def test_missing_scope_is_code_57(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(oauth={"scope": "ZohoBooks.contacts.READ,ZohoBooks.invoices.ALL"})
    assert sim.get("/contacts").status_code == 200
    assert sim.get("/invoices").status_code == 200
    for path, root in (("/items", BOOKS), ("/contacts", INVENTORY), ("/organizations", BOOKS)):
        response = sim.get(path, root=root)
        assert response.status_code == 401
        assert response.json() == NOT_AUTHORIZED


def test_granted_scope_travels_with_the_authorization_code(sim: SimClient) -> None:
    code = sim.control("POST", "/oauth/grant-codes", json={"scope": "ZohoInventory.items.READ"})
    params = {
        "grant_type": "authorization_code",
        "client_id": "1000.LOCALSIMULATORCLIENT",
        "client_secret": "local-simulator-secret",
        "code": code["code"],
    }
    token = sim.http.post("/oauth/v2/token", params=params).json()["access_token"]
    assert sim.get("/items", root=INVENTORY, token=token).status_code == 200
    assert sim.get("/items", root=BOOKS, token=token).json() == NOT_AUTHORIZED
    # The default token has full access to both products.
    assert sim.get("/pricebooks", root=INVENTORY).status_code == 200
