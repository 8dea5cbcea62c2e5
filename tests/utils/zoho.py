"""A Zoho simulator of a test's own, and zoho-proxy settings pointed at it.

Tests share the session's database, so every simulator gets its own refresh token (the proxy's
token row is keyed by the credential) and organizations of the test's own (budget and mirror
rows are keyed by organization): tests never see each other's tokens, budgets or rows.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from cryptography.fernet import Fernet

from tests.utils.auth import PROXY_AUTH as PROXY_AUTH
from tests.utils.auth import PROXY_READER_TOKEN as PROXY_READER_TOKEN
from tests.utils.auth import PROXY_WRITER_TOKEN as PROXY_WRITER_TOKEN
from zoho_proxy.settings import Settings as ProxySettings
from zoho_sim.settings import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION_ID,
    LimitSettings,
    OAuthSettings,
    OrgSettings,
    SimSettings,
)

ENCRYPTION_KEY = Fernet.generate_key().decode()
SIM_CLIENT_ID = DEFAULT_CLIENT_ID
SIM_CLIENT_SECRET = DEFAULT_CLIENT_SECRET  # the simulator's published default
SIM_ORG = DEFAULT_ORGANIZATION_ID


def unique_org() -> str:
    return str(random.randint(10**10, 10**11 - 1))


def unique_refresh_token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def sim_settings(
    refresh_token: str,
    organizations: list[OrgSettings],
    *,
    scale: int,
    limits: LimitSettings | None = None,
    oauth: dict[str, Any] | None = None,
) -> SimSettings:
    """A simulator on a free port that accepts the default client with ``refresh_token``."""
    return SimSettings(
        port=0,
        default_scale=scale,
        organizations=organizations,
        oauth=OAuthSettings(
            client_id=SIM_CLIENT_ID,
            client_secret=SIM_CLIENT_SECRET,
            refresh_token=refresh_token,
            **(oauth or {}),
        ),
        limits=limits or LimitSettings(),
    )


def proxy_settings(
    database_url: str, base_url: str = "http://zoho.test", **overrides: Any
) -> ProxySettings:
    """zoho-proxy against ``base_url`` (a simulator) with fast retries; overrides win."""
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
        "client_tokens": [PROXY_READER_TOKEN],
        "writer_tokens": [PROXY_WRITER_TOKEN],
    }
    values.update(overrides)
    return ProxySettings(**values)
