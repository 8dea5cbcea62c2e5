"""Simulator settings, from ``ZOHO_SIM_*`` environment variables (nested with ``__``).

Every behaviour that docs/zoho-api.md marks UNCONFIRMED is a setting here, so a test can pick the
stricter or the other plausible variant. Limits, faults and webhooks can also be changed at run
time through the control API (``/_sim/...``); these settings are the values a reset returns to.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zoho_sim.entities import SPECS
from zoho_sim.timefmt import parse_offset
from zoho_sim.write_rules import WriteSettings

DEFAULT_CLIENT_ID: Final = "1000.LOCALSIMULATORCLIENT"
DEFAULT_CLIENT_SECRET: Final = "local-simulator-secret"
DEFAULT_REFRESH_TOKEN: Final = (
    "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
)
DEFAULT_ORGANIZATION_ID: Final = "60000000001"

WEBHOOK_ENTITIES: Final = (*(spec.tds_name for spec in SPECS.values() if spec.webhook), "stock")
"""TDS entity names (docs/architecture.md#entities) that webhooks are sent for; stock's are
Inventory item events."""
_PLACEHOLDERS: Final = {"entity": "products", "event": "edit", "org_id": "1", "id": "1"}
WebhookEvent = Literal["create", "edit", "delete"]
DEFAULT_WEBHOOK_EVENTS: Final[tuple[WebhookEvent, ...]] = ("create", "edit")
MAX_ORGANIZATIONS: Final = 99
Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate", "enterprise"]

BOOKS_DAILY_QUOTA: Final[dict[str, int]] = {
    "free": 1000,
    "standard": 2000,
    "professional": 5000,
    "premium": 10000,
    "elite": 10000,
    "ultimate": 10000,
    "enterprise": 10000,
}
"""docs/zoho-api.md#books-limits [DOC]."""
INVENTORY_DAILY_QUOTA: Final[dict[str, int]] = {
    "free": 1000,
    "standard": 2500,
    "professional": 5000,
    "premium": 7500,
    "elite": 10000,
    "ultimate": 10000,
    "enterprise": 10000,
}
"""UNCONFIRMED digest: premium 75,000 read as 7,500 (docs/zoho-api.md#inventory-limits)."""


class OrgSettings(BaseModel):
    """One organization the simulated user can see."""

    organization_id: str = Field(DEFAULT_ORGANIZATION_ID, pattern=r"^[0-9]{5,20}$")
    name: str = "Local Simulator Trading Co"
    plan: Plan = "professional"
    """Professional, the cheapest plan with webhooks (docs/zoho-api.md#webhook-mechanism)."""
    time_zone: str = "America/New_York"
    """Timestamps are written in the org's time zone, ``2026-06-09T09:45:21-0400``
    (docs/zoho-api.md#record-conventions), so their offset follows daylight saving time
    (``-0500`` in a New York December), as Zoho's do."""
    utc_offset: str | None = Field(None, pattern=r"^[+-]\d{4}$")
    """A fixed offset instead of the time zone's (e.g. ``-0400`` all year)."""
    currency_code: str = "USD"
    daily_quota: int | None = Field(None, ge=1)
    """Overrides the plan's daily quota (both products) when set."""
    in_flight_limit: int | None = Field(None, ge=1)
    """Overrides the plan's in-flight cap (free 5, paid 10) when set."""
    stock_layout: Literal["warehouses", "locations"] = "warehouses"
    """Inventory item details show stock as ``warehouses[]`` (``warehouse_*`` fields) or, for
    orgs moved to Locations, ``locations[]`` (``location_*``); docs/zoho-api.md#key-fields."""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r} (an IANA name like America/New_York)"
            raise ValueError(message) from None
        return value

    @property
    def tz(self) -> tzinfo:
        """Where the org's timestamps are written: its fixed offset, or its time zone."""
        return parse_offset(self.utc_offset) if self.utc_offset else ZoneInfo(self.time_zone)


class OAuthSettings(BaseModel):
    """Token endpoint behaviour (docs/zoho-api.md#oauth)."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEFAULT_CLIENT_SECRET)
    refresh_token: SecretStr = SecretStr(DEFAULT_REFRESH_TOKEN)
    access_token_lifetime_seconds: int = Field(3600, ge=1)
    mint_limit: int = Field(10, ge=1)
    """Access tokens per refresh token per ``mint_window_seconds`` [DOC]."""
    mint_window_seconds: float = Field(600.0, gt=0)
    lockout_seconds: float = Field(900.0, ge=0)
    """How long minting stays blocked after the limit trips (field reports: 15-30 min; GUESS)."""
    lockout_extends_on_retry: bool = True
    """A token request during lockout restarts the lockout (field reports; GUESS)."""
    lockout_http_status: int = Field(400, ge=200, le=599)
    """HTTP status of the "Access Denied" mint-throttle answer: 400 as seen in the field; 200,
    as Zoho sends its other token errors, is UNCONFIRMED (docs/zoho-api.md, "Token-endpoint
    errors")."""
    max_active_access_tokens: int = Field(15, ge=1)
    """Books doc says 15, other products 30; the oldest is invalidated beyond this."""
    max_refresh_tokens: int = Field(20, ge=1)
    """Per client: the 21st authorization-code exchange invalidates the oldest [DOC]."""
    grant_code_lifetime_seconds: float = Field(120.0, gt=0)
    accept_bearer_scheme: bool = False
    """Accept ``Authorization: Bearer`` on API calls (UNCONFIRMED for Books/Inventory)."""
    api_domain: str = ""
    """``api_domain`` in token responses; empty means the simulator's own base URL."""
    scope: str = "ZohoBooks.fullaccess.all,ZohoInventory.FullAccess.all"
    """Scopes of the configured refresh token (comma-separated, case-insensitive); a call whose
    module is not covered answers code 57 (docs/zoho-api.md#scopes)."""


class LimitSettings(BaseModel):
    """API call limits per organization and product (docs/zoho-api.md#rate-limits)."""

    per_minute: int = Field(100, ge=1)
    minute_window_seconds: float = Field(60.0, gt=0)
    """Length of the "per minute" window; tests use e.g. 2.0 for "100 per 2 seconds"."""
    minute_window_mode: Literal["sliding", "fixed"] = "sliding"
    """Zoho's window algorithm is unknown; sliding is the stricter reading (GUESS)."""
    count_rejected: bool = False
    """Whether 429-rejected calls count toward the per-minute window (GUESS)."""
    daily_window_seconds: float = Field(86400.0, gt=0)
    in_flight_free: int = Field(5, ge=1)
    in_flight_paid: int = Field(10, ge=1)
    shared_product_pools: bool = False
    """Books and Inventory share one budget per org (UNCONFIRMED; default: separate pools)."""
    daily_quota: int | None = Field(None, ge=1)
    """Overrides every org's daily quota when set (an org's own ``daily_quota`` wins)."""
    in_flight_limit: int | None = Field(None, ge=1)
    """Overrides every org's in-flight cap when set (an org's own ``in_flight_limit`` wins)."""


class ApiSettings(BaseModel):
    """Request handling details that docs/zoho-api.md marks UNCONFIRMED."""

    max_per_page: int = Field(200, ge=1)
    per_page_over_max: Literal["clamp", "error"] = "clamp"
    last_modified_inclusive: bool = True
    """``last_modified_time`` filter: ``>=`` (True) or ``>`` (False); UNCONFIRMED."""
    last_modified_ignored_for: list[str] = Field(default_factory=list)
    """List paths (``items``, ``contacts`` …) that silently ignore the filter (UNCONFIRMED)."""
    payment_lists_carry_invoices: bool = False
    """Whether ``/customerpayments`` list summaries carry each payment's applied ``invoices``
    (UNCONFIRMED; false: only the detail does, like line items of other documents)."""
    default_lists_active_only: list[str] = Field(default_factory=list)
    """List paths (``items``, ``contacts`` …) that list only active records when no
    ``filter_by`` is sent (UNCONFIRMED; a client that relies on the default misses inactive
    records). ``filter_by=Status.All`` lists them all everywhere."""
    accept_org_header: bool = True
    """Accept ``X-com-zoho-books-organizationid`` / ``X-com-zoho-inventory-organizationid``."""
    missing_org_fallback: bool = False
    """Missing organization_id falls back to the default org instead of an error (UNCONFIRMED)."""
    missing_org_code: int = 6041
    missing_org_message: str = "Organization ID is required."
    """Missing organization_id answers HTTP 400 with this code/message (UNCONFIRMED)."""
    unauthorized_status: int = 401
    """HTTP status for codes 14/57 (401; 400 was sometimes seen)."""


class WebhookSettings(BaseModel):
    """Where mutations are delivered (Zoho workflow webhooks, docs/zoho-api.md#webhooks)."""

    url_template: str = ""
    """e.g. ``http://127.0.0.1:8001/api/zoho/webhooks/{entity}``; empty disables delivery."""
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    hmac_secret: SecretStr | None = None
    hmac_header: str = "X-Zoho-Webhook-Signature"
    events: list[WebhookEvent] = Field(default_factory=lambda: list(DEFAULT_WEBHOOK_EVENTS))
    timeout_seconds: float = Field(10.0, gt=0)
    entity_urls: dict[str, str] = Field(default_factory=dict)
    """Per TDS entity (``products``, ``stock`` …): a URL template used instead of
    ``url_template`` (one workflow rule per module, each with its own webhook)."""
    entities: list[str] | None = None
    """Only these TDS entities get webhooks (None: all of them)."""
    payload_fields: list[str] = Field(default_factory=list)
    """Send only these record fields (a user-defined "thin" payload, e.g. ``["item_id"]``);
    empty sends Zoho's Default Payload, the full record."""
    daily_limit: int | None = Field(1000, ge=1)
    """Webhook executions per org per day (Books: 1,000 [DOC]); beyond it changes are not
    delivered (recorded as skipped). None = unlimited."""
    body_format: Literal["json", "form"] = "json"
    """``json``: the record as ``application/json``; ``form``: one ``JSONString`` form field
    holding the same JSON (the x-www-form-urlencoded option; UNCONFIRMED shape)."""

    @model_validator(mode="after")
    def _check(self) -> WebhookSettings:
        for template in (self.url_template, *self.entity_urls.values()):
            _check_template(template)
        unknown = {*self.entity_urls, *(self.entities or [])} - set(WEBHOOK_ENTITIES)
        if unknown:
            raise ValueError(
                f"unknown webhook entities {sorted(unknown)}; known: {WEBHOOK_ENTITIES}"
            )
        return self


def _check_template(template: str) -> None:
    if not template:
        return
    try:
        url = template.format_map(_PLACEHOLDERS)
    except (KeyError, ValueError, IndexError) as exc:
        raise ValueError(
            f"bad url_template {template!r}; placeholders: {{entity}} {{event}} {{org_id}} {{id}}"
        ) from exc
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"url_template {template!r} must be an http(s) URL")


class SimSettings(BaseSettings):
    """Everything the simulator reads at start-up; ``ZOHO_SIM_`` prefix, ``__`` nesting."""

    model_config = SettingsConfigDict(
        env_prefix="ZOHO_SIM_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
    )

    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535)
    """0 picks a free port (see ``zoho_sim.testing.run_in_thread``)."""
    log_level: str = "INFO"
    seed: int = 42
    scale: dict[str, int] = Field(default_factory=dict)
    """Records per entity, keyed by Zoho path (``items``, ``contacts``, ``invoices`` …: every
    module of ``zoho_sim.entities``); missing entries use ``default_scale``."""
    default_scale: int = Field(2000, ge=0)
    organizations: list[OrgSettings] = Field(default_factory=lambda: [OrgSettings()])
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    writes: WriteSettings = Field(default_factory=WriteSettings)
    """Validation of API writes (POST/PUT/DELETE): codes and mandatory fields (UNCONFIRMED)."""
    inventory_only_items: int = Field(0, ge=0)
    """The last N seeded items of every org exist only in Zoho Inventory: composite items
    (``is_combo_product: true``, [DOC] Inventory composite items API). Books' ``/items``,
    ``/items/{id}`` and ``/itemdetails`` do not have them; Inventory's ``/items`` lists them
    with the other items, under their item id (UNCONFIRMED: Zoho also serves them at
    ``/compositeitems`` as ``composite_item_id``). A created item with ``is_combo_product:
    true`` is Inventory-only too."""
    stock_bumps_item_last_modified: bool = True
    """A stock movement changes the item's last_modified_time (UNCONFIRMED)."""
    same_second_edits: bool = False
    """Edits keep the clock's second even when the record already carries it, so two edits in
    one second share a ``last_modified_time`` (Zoho's one-second resolution). False: every edit
    moves it at least one second on. A single edit can ask ``?same_second=true`` either way."""

    @model_validator(mode="after")
    def _check(self) -> SimSettings:
        ids = [org.organization_id for org in self.organizations]
        if not ids:
            raise ValueError("at least one organization is required")
        if len(set(ids)) != len(ids):
            raise ValueError("organization ids must be unique")
        if len(ids) > MAX_ORGANIZATIONS:
            raise ValueError(f"at most {MAX_ORGANIZATIONS} organizations (two id digits each)")
        unknown = set(self.scale) - set(SCALE_KEYS)
        if unknown:
            raise ValueError(f"unknown scale keys {sorted(unknown)}; known: {list(SCALE_KEYS)}")
        if any(v < 0 for v in self.scale.values()):
            raise ValueError("scale values must be >= 0")
        return self

    @property
    def default_org_id(self) -> str:
        return self.organizations[0].organization_id

    def scale_of(self, entity: str) -> int:
        default = 3 if entity == "warehouses" else self.default_scale
        if entity == "pricebooks":
            default = min(self.default_scale, 20)
        return self.scale.get(entity, default)


SCALE_KEYS: Final = tuple(SPECS)
