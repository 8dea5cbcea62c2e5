"""Record-change webhooks, sent the way a Zoho workflow rule sends them (docs/zoho-api.md#webhooks).

One POST per change to the configured URL template (placeholders ``{entity}`` in TDS names,
``{event}``, ``{org_id}``, ``{id}``), body = the "Default Payload": the full record under its
singular module key, ``{"item": {...}}``, as ``application/json``. Auth is what Zoho offers:
custom headers and query parameters; an optional HMAC-SHA256 of the raw body goes in a header
(a Zoho Billing-style option; Books itself signs nothing). Single attempt, no retries, like the
(UNCONFIRMED) Zoho behaviour; every attempt is recorded for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import Counter, deque
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from zoho_sim.clock import Clock
from zoho_sim.faults import Faults
from zoho_sim.settings import WebhookSettings

logger = logging.getLogger(__name__)

MAX_RECORDED_DELIVERIES: Final = 2000
DAY_SECONDS: Final = 86400


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Delivers and records webhook calls with one shared ``httpx.AsyncClient``."""

    def __init__(self, config: WebhookSettings, faults: Faults, clock: Clock) -> None:
        self.config = config
        self._faults = faults
        self._clock = clock
        self._daily: dict[str, tuple[int, int]] = {}
        """org id → (day number on the simulator clock, executions that day)."""
        self._client: httpx.AsyncClient | None = None
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_DELIVERIES)
        self.outcomes: Counter[str] = Counter()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def clear(self) -> None:
        self.deliveries.clear()
        self.outcomes.clear()
        self._daily.clear()

    def _over_daily_limit(self, org_id: str) -> bool:
        """At most N webhook executions per org per day (docs/zoho-api.md#webhook-mechanism)."""
        limit = self.config.daily_limit
        if limit is None:
            return False
        day = int(self._clock.monotonic() // DAY_SECONDS)
        seen_day, used = self._daily.get(org_id, (day, 0))
        used = used if seen_day == day else 0
        if used >= limit:
            return True
        self._daily[org_id] = (day, used + 1)
        return False

    async def deliver(
        self,
        *,
        org_id: str,
        entity: str,
        event: str,
        key: str,
        record: dict[str, Any],
        record_id: str,
    ) -> dict[str, Any] | None:
        """Send one change; returns the recorded attempt, or None when webhooks are off."""
        config = self.config
        template = config.entity_urls.get(entity) or config.url_template
        wanted = config.entities is None or entity in config.entities
        if not template or event not in config.events or not wanted:
            return None
        url = template.format_map(
            {"entity": entity, "event": event, "org_id": org_id, "id": record_id}
        )
        if config.payload_fields:
            record = {k: record[k] for k in config.payload_fields if k in record}
        payload = json.dumps({key: record}, separators=(",", ":"))
        if config.body_format == "form":
            body = urlencode({"JSONString": payload}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body, content_type = payload.encode(), "application/json"
        headers = {"Content-Type": content_type, **config.headers}
        if config.hmac_secret is not None:
            headers[config.hmac_header] = signature(config.hmac_secret.get_secret_value(), body)
        attempt: dict[str, Any] = {
            "org_id": org_id,
            "entity": entity,
            "event": event,
            "id": record_id,
            "url": url,
            "status": None,
            "error": None,
            "dropped": False,
            "skipped": None,
            "body": {key: record},
        }
        if self._over_daily_limit(org_id):
            attempt["skipped"] = "daily webhook execution limit"
            self.outcomes["over_limit"] += 1
        elif self._faults.take_webhook_drop():
            attempt["dropped"] = True
            self.outcomes["dropped"] += 1
        else:
            await self._post(attempt, url, body, headers)
        self.deliveries.append(attempt)
        return attempt

    async def _post(
        self, attempt: dict[str, Any], url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient()
        try:
            # Query parameters are merged into the template's own (e.g. ``?event={event}``).
            target = httpx.URL(url).copy_merge_params(self.config.query)
            response = await self._client.post(
                target, content=body, headers=headers, timeout=self.config.timeout_seconds
            )
        except httpx.HTTPError as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"
            self.outcomes["failed"] += 1
            logger.warning("webhook to %s failed: %s", attempt["url"], attempt["error"])
            return
        attempt["status"] = response.status_code
        ok = response.is_success
        self.outcomes["delivered" if ok else "failed"] += 1
        if not ok:
            logger.info("webhook to %s answered %s", attempt["url"], response.status_code)
