"""Helpers for the proxy's integration tests: settings against a real database (and the sim).

Every test works on organizations and credentials of its own (random ids), so tests sharing the
session's database never see each other's budgets or tokens.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from cryptography.fernet import Fernet

from zoho_proxy.settings import Settings

ENCRYPTION_KEY = Fernet.generate_key().decode()
SIM_CLIENT_ID = "1000.LOCALSIMULATORCLIENT"
SIM_CLIENT_SECRET = "local-simulator-secret"  # the simulator's published default
SIM_REFRESH_TOKEN = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
SIM_ORG = "60000000001"


def unique_org() -> str:
    return str(random.randint(10**10, 10**11 - 1))


def unique_refresh_token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def proxy_settings(
    database_url: str, base_url: str = "http://zoho.test", **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "zoho_client_id": SIM_CLIENT_ID,
        "zoho_client_secret": SIM_CLIENT_SECRET,
        "zoho_refresh_token": unique_refresh_token(),
        "zoho_organization_id": SIM_ORG,
        "zoho_accounts_url": base_url,
        "zoho_api_base_url": base_url,
        "token_encryption_key": ENCRYPTION_KEY,
        "retry_initial_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "request_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)
