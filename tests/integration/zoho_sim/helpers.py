"""A thin test client for the simulator: mint tokens, call the API, poke the control API."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx

from zoho_sim.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

ORG: Final = "60000000001"
BOOKS: Final = "/books/v3"
INVENTORY: Final = "/inventory/v1"
TOKEN_RE: Final = r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$"
TIMESTAMP_RE: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$"


def refresh_params(**overrides: str) -> dict[str, str]:
    params = {
        "grant_type": "refresh_token",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
    }
    params.update(overrides)
    return params


class SimClient:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self._token: str | None = None

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def mint(self, **overrides: str) -> httpx.Response:
        return self.http.post("/oauth/v2/token", params=refresh_params(**overrides))

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.mint()
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def forget_token(self) -> None:
        """Mint a new token on next use (after moving the clock past its expiry)."""
        self._token = None

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {token or self.token}"}

    def get(
        self,
        path: str,
        *,
        root: str = BOOKS,
        org: str | None = ORG,
        token: str | None = None,
        **params: Any,
    ) -> httpx.Response:
        if org is not None:
            params["organization_id"] = org
        return self.http.get(f"{root}{path}", params=params, headers=self.auth(token))

    def ok(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["code"] == 0 and body["message"] == "success"
        return body

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"/_sim{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()

    def reset(self, **body: Any) -> None:
        """``POST /_sim/reset`` (tokens are cleared, so the cached one is dropped)."""
        self.control("POST", "/reset", json=body)
        if not body.get("keep_tokens"):
            self._token = None

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "/counters")
        return result

    def all_ids(self, path: str, key: str, id_field: str, **params: Any) -> list[str]:
        ids: list[str] = []
        page = 1
        while True:
            body = self.ok(path, page=page, per_page=200, **params)
            ids.extend(row[id_field] for row in body[key])
            if not body["page_context"]["has_more_page"]:
                return ids
            page += 1


async def wait_in_flight(sim: SimClient, count: int, product: str = "books") -> None:
    """Poll the counters until ``count`` calls of the default org are in flight."""
    for _ in range(3000):
        budget = sim.counters()["budgets"].get(ORG, {}).get(product, {})
        if budget.get("in_flight") == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {count} calls in flight")
