"""Shared helpers for the proxy's unit tests: settings, fake budget and token source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.fernet import Fernet

from zoho_proxy.budget import Lease
from zoho_proxy.budget_rules import Lane
from zoho_proxy.settings import Settings

TEST_KEY = Fernet.generate_key().decode()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "zoho_client_id": "1000.TESTCLIENT",
        "zoho_client_secret": "test-client-secret",
        "zoho_refresh_token": "1000.aaaa.bbbb",
        "zoho_organization_id": "60000000001",
        "zoho_accounts_url": "http://accounts.test",
        "zoho_api_base_url": "http://api.test",
        "token_encryption_key": TEST_KEY,
        "retry_initial_seconds": 0.0,
        "retry_max_seconds": 0.0,
    }
    values.update(overrides)
    return Settings(**values)


class FakeBudget:
    """Grants everything and remembers what happened."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, str, Lane]] = []
        self.released: list[tuple[Mapping[str, str] | None, int | None]] = []
        self.held: list[bool] = []

    async def acquire(self, org_id: str, product: str, lane: Lane) -> Lease:
        import uuid

        self.acquired.append((org_id, product, lane))
        return Lease(uuid.uuid4(), org_id, product, lane, 0.0)

    async def release(
        self,
        lease: Lease,
        *,
        headers: Mapping[str, str] | None = None,
        throttle_code: int | None = None,
        hold_in_flight: bool = False,
    ) -> None:
        self.released.append((headers, throttle_code))
        self.held.append(hold_in_flight)


class FakeTokens:
    """Hands out token-1, token-2, … ; a new one after each invalidation."""

    def __init__(self, *, invalidation_helps: bool = True) -> None:
        self.generation = 1
        self.invalidated: list[str] = []
        self.verified: list[bool] = []
        self.invalidation_helps = invalidation_helps
        self.young: set[str] = set()
        """Tokens :meth:`is_young` calls just minted."""

    async def get(self) -> str:
        return f"token-{self.generation}"

    def is_young(self, token: str) -> bool:
        return token in self.young

    async def invalidate(self, token: str, *, verified: bool = False) -> bool:
        self.invalidated.append(token)
        self.verified.append(verified)
        if self.invalidation_helps:
            self.generation += 1
        return self.invalidation_helps


@pytest.fixture(name="settings")
def fixture_settings() -> Settings:
    return make_settings()
