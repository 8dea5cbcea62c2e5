"""The services' HTTP APIs, with errors an operator can act on."""

from __future__ import annotations

from typing import Any

import httpx

from tds_cli.settings import CliSettings


class CommandError(Exception):
    """What went wrong, in one line; ``tds`` prints it and exits 1 (see ``main.handled``)."""


class Api:
    """One service's base URL, reached through a shared client."""

    def __init__(self, client: httpx.Client, name: str, base_url: str) -> None:
        self.client = client
        self.name = name
        self.base_url = base_url.rstrip("/")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise CommandError(f"{self.name} unreachable at {self.base_url}: {exc}") from exc
        if response.is_error:
            raise CommandError(f"{self.name} answered {response.status_code}: {_detail(response)}")
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        """``timeout``: this call's own, for work that takes longer than the usual call."""
        if timeout is None:
            return self.call("POST", path, json=body)
        return self.call("POST", path, json=body, timeout=timeout)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, list):  # FastAPI's 422: one entry per invalid field
            return "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in error)
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return str(body)[:200]


class Services:
    """The four services, built once per command."""

    def __init__(self, settings: CliSettings, transport: httpx.BaseTransport | None = None) -> None:
        headers = {}
        if settings.api_token is not None:
            headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
        self.client = httpx.Client(
            timeout=settings.timeout_seconds, headers=headers, transport=transport
        )
        self.ingest = Api(self.client, "ingest", settings.ingest_url)
        self.processor = Api(self.client, "processor", settings.processor_url)
        self.bulk_sync = Api(self.client, "bulk-sync", settings.bulk_sync_url)
        self.zoho_proxy = Api(self.client, "zoho-proxy", settings.zoho_proxy_url)

    def all(self) -> list[Api]:
        return [self.ingest, self.processor, self.bulk_sync, self.zoho_proxy]

    def close(self) -> None:
        self.client.close()
