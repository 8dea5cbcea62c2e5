"""What the lifespan opens and the routes use, in one typed object (read by ``api/deps.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from zoho_proxy.budget import Budget
from zoho_proxy.settings import Settings
from zoho_proxy.tokens import TokenManager
from zoho_proxy.zoho.client import ZohoClient


@dataclass(frozen=True)
class ProxyState:
    settings: Settings
    budget: Budget
    tokens: TokenManager
    client: ZohoClient
    pool: asyncpg.Pool
