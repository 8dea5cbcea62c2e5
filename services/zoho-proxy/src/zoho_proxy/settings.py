"""Settings of the zoho-proxy service (env prefix ``ZOHO_PROXY_``; shared names unprefixed).

The Zoho credentials keep the names users already have (``ZOHO_CLIENT_ID``,
``ZOHO_CLIENT_SECRET``, ``ZOHO_REFRESH_TOKEN``, ``ZOHO_ORGANIZATION_ID``) plus the data centre's
``ZOHO_ACCOUNTS_URL`` and ``ZOHO_API_BASE_URL`` (which also point the proxy at the simulator).
Everything about budgets, retries and tokens belongs to the proxy and carries its prefix, e.g.
``ZOHO_PROXY_PER_MINUTE_LIMIT`` or ``ZOHO_PROXY_MAX_WAIT_SECONDS__BULK``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from cryptography.fernet import Fernet
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from tds_common.auth import AcceptedTokens
from tds_common.settings import ServiceSettings, service_config
from zoho_proxy.budget_rules import LANES, Lane

Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate", "enterprise"]

BOOKS_DAILY_LIMITS: Final[dict[str, int]] = {
    "free": 1000,
    "standard": 2000,
    "professional": 5000,
    "premium": 10000,
    "elite": 10000,
    "ultimate": 10000,
    "enterprise": 10000,
}
"""Books daily call quota per plan (docs/zoho-api.md#books-limits)."""

INVENTORY_DAILY_LIMITS: Final[dict[str, int]] = {
    "free": 1000,
    "standard": 2500,
    "professional": 5000,
    "premium": 7500,
    "elite": 10000,
    "ultimate": 10000,
    "enterprise": 10000,
}
"""Inventory daily quota per plan, overridable: UNCONFIRMED (docs/zoho-api.md#inventory-limits)."""

_PLACEHOLDERS: Final = frozenset({"", "changeme", "change-me", "secret", "xxx", "todo"})


def _env(name: str) -> AliasChoices:
    """Read a shared, unprefixed environment name (and the field name, for tests)."""
    return AliasChoices(name, name.lower())


class LaneWaits(BaseModel):
    """How long a caller of each lane may wait for budget before getting our own 429."""

    webhook: float = Field(15.0, ge=0)
    """Seconds a webhook follow-up read may wait (the processor's event is held meanwhile)."""
    write: float = Field(30.0, ge=0)
    """Seconds a write-back call (bulk-sync's outbox relay) may wait."""
    incremental: float = Field(30.0, ge=0)
    """Seconds an incremental-sync call may wait."""
    bulk: float = Field(30.0, ge=0)
    """Seconds a bulk-sync call may wait."""


class Settings(ServiceSettings):
    """zoho-proxy settings. Build once in ``__main__`` and pass to :func:`create_app`."""

    # Inputs stay out of validation errors: a mistyped key or secret must not reach the logs.
    model_config = {**service_config("ZOHO_PROXY_"), "hide_input_in_errors": True}

    port: int = Field(8004, ge=1, le=65535)

    # --- Zoho credentials and endpoints (shared names) ---
    zoho_client_id: str = Field(validation_alias=_env("ZOHO_CLIENT_ID"), min_length=1)
    """OAuth client id of the Zoho API console app (Self Client or server-based)."""
    zoho_client_secret: SecretStr = Field(validation_alias=_env("ZOHO_CLIENT_SECRET"))
    """OAuth client secret."""
    zoho_refresh_token: SecretStr = Field(validation_alias=_env("ZOHO_REFRESH_TOKEN"))
    """Long-lived refresh token (``1000.<hex>.<hex>``); access tokens are minted from it."""
    zoho_accounts_url: str = Field(
        "https://accounts.zoho.com", validation_alias=_env("ZOHO_ACCOUNTS_URL")
    )
    """Accounts server of the data centre; the token endpoint is this + ``/oauth/v2/token``."""
    zoho_api_base_url: str = Field(
        "https://www.zohoapis.com", validation_alias=_env("ZOHO_API_BASE_URL")
    )
    """API host; Books is this + ``/books/v3``, Inventory this + ``/inventory/v1``."""

    # --- tokens ---
    token_encryption_key: SecretStr
    """Fernet key (``Fernet.generate_key()``) encrypting access tokens at rest in PostgreSQL."""
    token_encryption_old_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """More Fernet keys (comma-separated) that stored tokens may be read with, never written
    with: the previous key after a rotation (see the README's key rotation steps)."""
    token_refresh_margin_seconds: float = Field(300.0, ge=0)
    """Refresh this long before the access token expires, so no call ever carries a dead one."""
    token_max_mints: int = Field(9, ge=1)
    """Mints allowed per ``token_mint_window_seconds``; Zoho locks minting beyond 10 per 10 min."""
    token_mint_window_seconds: float = Field(600.0, gt=0)
    """The window of Zoho's mint limit."""
    token_lockout_backoff_seconds: float = Field(1800.0, ge=0)
    """After Zoho's 400 "Access Denied" no replica asks for a token for this long; Zoho only
    lifts the lock after a quiet period, and every attempt restarts it."""
    token_failure_backoff_seconds: float = Field(30.0, ge=0)
    """After an unreachable or failing token endpoint, wait this long before trying again."""
    token_revoked_backoff_seconds: float = Field(600.0, ge=0)
    """After ``invalid_code`` (revoked refresh token) re-check only this often."""
    token_min_age_for_invalidation_seconds: float = Field(30.0, ge=0)
    """A 401 on a token younger than this is not a dead token (e.g. a missing scope): don't
    mint again for it, which would burn the mint limit."""
    scope_denial_ttl_seconds: float = Field(600.0, ge=0)
    """How long a call Zoho refused for a missing scope (code 57 while the token works) is
    answered with our 403 without asking Zoho; then one call checks again."""

    # --- database ---
    synchronous_commit: Literal["on", "remote_apply", "remote_write", "local", "off"] = "on"
    """PostgreSQL ``synchronous_commit`` of the proxy's connections. ``on``: a budget or token
    row is on disk (and on a synchronous standby, if any) before the call goes to Zoho, so a
    database crash or failover cannot undercount the window. ``off`` saves a WAL flush per
    call and risks losing the last few calls' accounting in a crash. A mint attempt is always
    committed with ``on``."""

    # --- budgets ---
    plan: Plan = "standard"
    """Zoho plan; sets the daily quota unless ``daily_limit`` overrides it."""
    daily_limit: int | None = Field(None, ge=1)
    """Daily calls per organization and product; overrides the plan's table."""
    daily_window_seconds: float = Field(86400.0, gt=0)
    """Length of Zoho's daily window when its headers have not told us the reset time yet."""
    daily_reserve: int = Field(200, ge=0)
    """Daily calls the bulk lane may never touch: kept for live (webhook) traffic."""
    per_minute_limit: int = Field(100, ge=1)
    """Calls per organization and product per window (Zoho: 100 per minute)."""
    inventory_per_minute_limit: int | None = Field(None, ge=1)
    """Inventory's own calls per window, when it differs from Books' (Zoho documents 100 for
    both, docs/zoho-api.md "Rate limits"); None: ``per_minute_limit``. With shared product
    pools the Books limit applies to both."""
    window_seconds: float = Field(60.0, gt=0)
    """Length of the rate window (shortened in tests)."""
    window_margin_seconds: float = Field(0.25, ge=0)
    """Extra time a call stays in our window after its answer (its window entry moves from the
    grant to the answer, which already covers any delay until Zoho counted it): clock slack."""
    shared_product_pools: bool = False
    """Books and Inventory spend one budget per organization (UNCONFIRMED which Zoho does:
    docs/zoho-api.md#inventory-limits); shared, they are both accounted in the ``books`` row."""
    max_in_flight: int = Field(10, ge=1)
    """Concurrent calls per organization and product (Zoho: 5 free, 10 paid)."""
    max_wait_seconds: LaneWaits = Field(default_factory=LaneWaits)
    """Per-lane wait bound before our own 429 with Retry-After."""
    lane_order: list[Lane] = Field(default_factory=lambda: list(LANES))
    """Which lane asks the budget first (JSON list): webhook first and bulk last always; the
    ERP's write-back (``write``) before or after ``incremental``."""
    budget_poll_seconds: float = Field(0.02, gt=0)
    """How often a waiter re-checks for a free in-flight slot held by another replica."""

    # --- upstream calls ---
    request_timeout_seconds: float = Field(30.0, gt=0)
    """Timeout of one Zoho call (connect, read, write, pool)."""
    retry_attempts: int = Field(4, ge=1)
    """Attempts for an idempotent call on 5xx or network errors (1 = no retry)."""
    retry_initial_seconds: float = Field(0.5, ge=0)
    """First backoff; doubles per attempt with jitter."""
    retry_max_seconds: float = Field(8.0, ge=0)
    """Upper bound of one backoff."""

    # --- callers (docs/architecture.md, "Authentication") ---
    client_tokens: AcceptedTokens = Field(default_factory=list)
    """``ZOHO_PROXY_CLIENT_TOKENS``: bearer tokens of the services that may call the proxy
    (comma-separated; one per caller, several during a rotation). None: every call is 401."""
    writer_tokens: AcceptedTokens = Field(default_factory=list)
    """``ZOHO_PROXY_WRITER_TOKENS``: tokens that may also send POST/PUT/PATCH/DELETE through the
    pass-through (bulk-sync's write-back relay). None: the pass-through is read-only."""

    @field_validator("zoho_client_secret", "zoho_refresh_token", "token_encryption_key")
    @classmethod
    def _no_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("must be set to a real secret, not a placeholder")
        return value

    @field_validator("token_encryption_old_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr) -> SecretStr:
        _check_fernet_key(value)
        return value

    @field_validator("token_encryption_old_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for key in value:
            _check_fernet_key(key)
        return value

    def accepted_tokens(self) -> list[SecretStr]:
        """Every token the proxy accepts: a writer is a caller too."""
        return [*self.client_tokens, *self.writer_tokens]

    @field_validator("zoho_accounts_url", "zoho_api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("lane_order")
    @classmethod
    def _lane_order(cls, value: list[Lane]) -> list[Lane]:
        if sorted(value) != sorted(LANES) or value[0] != "webhook" or value[-1] != "bulk":
            raise ValueError(f"must order {', '.join(LANES)} once each, webhook first, bulk last")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.daily_reserve >= self.daily_quota("books") and self.daily_reserve > 0:
            raise ValueError("daily_reserve must be below the daily limit")
        return self

    def daily_quota(self, product: str) -> int:
        """The daily quota per organization for ``product`` (until Zoho's headers say more)."""
        if self.daily_limit is not None:
            return self.daily_limit
        table = BOOKS_DAILY_LIMITS if product == "books" else INVENTORY_DAILY_LIMITS
        return table[self.plan]

    def token_keys(self) -> list[bytes]:
        """The Fernet keys: the current one first (it encrypts), then the old ones."""
        keys = [self.token_encryption_key, *self.token_encryption_old_keys]
        return [key.get_secret_value().encode() for key in keys]

    @property
    def token_url(self) -> str:
        return self.zoho_accounts_url + "/oauth/v2/token"

    def api_root(self, product: str) -> str:
        """``.../books/v3`` or ``.../inventory/v1``."""
        suffix = "/books/v3" if product == "books" else "/inventory/v1"
        return self.zoho_api_base_url + suffix


def _check_fernet_key(value: SecretStr) -> None:
    try:
        Fernet(value.get_secret_value().encode())
    except (ValueError, TypeError):
        raise ValueError(
            "must be a Fernet key: 32 url-safe base64-encoded bytes "
            "(python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ) from None
