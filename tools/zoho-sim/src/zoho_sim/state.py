"""Everything the simulator holds in memory, and the one place that resets it.

The state is only touched from the event loop (handlers do not await between reading and
writing it), so it needs no locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoho_sim.clock import Clock
from zoho_sim.counters import CallCounters
from zoho_sim.entities import SPECS
from zoho_sim.faults import Faults
from zoho_sim.generate import OrgContext, organization
from zoho_sim.limits import Budget
from zoho_sim.oauth import TokenAuthority
from zoho_sim.settings import (
    BOOKS_DAILY_QUOTA,
    INVENTORY_DAILY_QUOTA,
    SCALE_KEYS,
    ApiSettings,
    LimitSettings,
    OrgSettings,
    SimSettings,
    WebhookSettings,
)
from zoho_sim.store import Table
from zoho_sim.webhooks import WebhookSender
from zoho_sim.writes import WriteState


@dataclass
class Org:
    settings: OrgSettings
    ctx: OrgContext
    tables: dict[str, Table]
    is_default: bool

    @property
    def organization(self) -> dict[str, Any]:
        s = self.settings
        return organization(self.ctx, s.name, s.plan, s.time_zone, self.is_default)


class SimState:
    """Dataset, tokens, budgets, faults, webhooks and counters."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.faults = Faults(settings.seed)
        self.calls = CallCounters()
        self.limits: LimitSettings = settings.limits.model_copy()
        self.api: ApiSettings = settings.api.model_copy()
        """Request handling (PUT /_sim/api changes it; a reset returns to the settings)."""
        self.webhook_config: WebhookSettings = settings.webhooks.model_copy()
        self.webhooks = WebhookSender(self.webhook_config, self.faults, self.clock)
        self.oauth = TokenAuthority(settings.oauth, self.clock)
        self.writes = WriteState(settings.writes)
        """API writes: their faults, counters and search index."""
        self.seed = settings.seed
        self.scale = {key: settings.scale_of(key) for key in SCALE_KEYS}
        self.orgs: dict[str, Org] = {}
        self.budgets: dict[tuple[str, str], Budget] = {}
        self._build()

    def _build(self) -> None:
        scale = tuple(sorted(self.scale.items()))
        self.orgs = {}
        for position, org in enumerate(self.settings.organizations):
            ctx = OrgContext(
                org_id=org.organization_id,
                org_position=position + 1,
                seed=self.seed,
                tz=org.tz,
                currency_code=org.currency_code,
                scale=scale,
                inventory_only_items=self.settings.inventory_only_items,
            )
            tables = {path: Table(spec, ctx, self.scale[path]) for path, spec in SPECS.items()}
            self.orgs[org.organization_id] = Org(org, ctx, tables, is_default=position == 0)
        self.budgets = {}

    def reset(
        self,
        *,
        seed: int | None = None,
        scale: dict[str, int] | None = None,
        default_scale: int | None = None,
        keep_config: bool = False,
        keep_tokens: bool = False,
    ) -> None:
        """A fresh dataset and fresh tokens, counters, faults and deliveries."""
        self.seed = self.settings.seed if seed is None else seed
        base = self.settings.default_scale if default_scale is None else default_scale
        merged = self.settings.model_copy(update={"default_scale": base})
        self.scale = {key: merged.scale_of(key) for key in SCALE_KEYS}
        self.scale.update(scale or {})
        self.faults.clear()
        self.writes.reset()
        self.calls = CallCounters()
        if not keep_tokens:
            self.oauth = TokenAuthority(self.settings.oauth, self.clock)
        self.webhooks.clear()
        if not keep_config:
            self.limits = self.settings.limits.model_copy()
            self.api = self.settings.api.model_copy()
            self.set_webhook_config(self.settings.webhooks.model_copy())
        self._build()

    def set_webhook_config(self, config: WebhookSettings) -> None:
        self.webhook_config = config
        self.webhooks.config = config

    def set_limits(self, limits: LimitSettings) -> None:
        self.limits = limits
        for (org_id, product), budget in self.budgets.items():
            quota, in_flight = self._quotas(self.orgs[org_id].settings, product)
            budget.configure(limits, quota, in_flight)

    def _quotas(self, org: OrgSettings, product: str) -> tuple[int, int]:
        table = INVENTORY_DAILY_QUOTA if product == "inventory" else BOOKS_DAILY_QUOTA
        quota = org.daily_quota or self.limits.daily_quota or table[org.plan]
        default_flight = (
            self.limits.in_flight_free if org.plan == "free" else (self.limits.in_flight_paid)
        )
        in_flight = org.in_flight_limit or self.limits.in_flight_limit or default_flight
        return quota, in_flight

    def budget(self, org_id: str, product: str) -> Budget:
        pool = "shared" if self.limits.shared_product_pools else product
        key = (org_id, pool)
        budget = self.budgets.get(key)
        if budget is None:
            quota, in_flight = self._quotas(self.orgs[org_id].settings, product)
            budget = Budget(self.limits, self.clock, quota, in_flight)
            self.budgets[key] = budget
        return budget

    def api_domain(self, base_url: str) -> str:
        return self.settings.oauth.api_domain or base_url.rstrip("/")
