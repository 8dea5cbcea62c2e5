"""The shared API budget: per organization and product, held in PostgreSQL for all replicas.

Each decision runs :func:`zoho_proxy.budget_rules.decide` under ``SELECT ... FOR UPDATE`` of the
``zoho_proxy_budgets`` row, so replicas never both take the last call. Calls in flight are rows
in ``zoho_proxy_inflight`` that expire: a replica killed mid-call frees its slots after
``request_timeout + LEASE_SLACK_SECONDS``. Inside a replica, :class:`LaneQueue` decides who asks
next (webhook before incremental before bulk).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg

from tds_common.db import CONNECTION_ERRORS
from tds_common.errors import UpstreamUnavailableError
from zoho_proxy import metrics
from zoho_proxy.budget_rules import (
    LANES,
    BudgetState,
    Decision,
    Lane,
    Limits,
    apply_rate_headers,
    apply_zoho_throttle,
    decide,
    retry_after,
    roll,
)
from zoho_proxy.errors import BudgetExhaustedError
from zoho_proxy.lanes import LaneQueue
from zoho_proxy.settings import Settings

logger = logging.getLogger(__name__)

LEASE_SLACK_SECONDS: Final = 5.0

_LOCK = """
SELECT recent_calls, day_limit, day_remaining, day_reset_at
  FROM zoho_proxy_budgets WHERE org_id = $1 AND product = $2 FOR UPDATE
"""
# A separate statement after the lock: its snapshot is taken once the lock is ours, so it sees
# the leases of the transaction we waited for (in one statement it would not, READ COMMITTED).
_IN_FLIGHT = """
SELECT clock_timestamp() AS now,
       (SELECT count(*) FROM zoho_proxy_inflight
         WHERE org_id = $1 AND product = $2 AND expires_at > clock_timestamp() AND id <> $3)
       AS in_flight
"""
_INSERT_ROW = """
INSERT INTO zoho_proxy_budgets (org_id, product, recent_calls, day_limit, day_remaining,
                                day_reset_at)
VALUES ($1, $2, '{}', $3, $3, clock_timestamp() + make_interval(secs => $4))
ON CONFLICT DO NOTHING
"""
_UPDATE = """
UPDATE zoho_proxy_budgets
   SET recent_calls = $3, day_limit = $4, day_remaining = $5, day_reset_at = $6,
       updated_at = clock_timestamp()
 WHERE org_id = $1 AND product = $2
"""
_NO_LEASE: Final = uuid.UUID(int=0)


@dataclass(frozen=True)
class Lease:
    """A granted call: release it exactly once with :meth:`Budget.release`."""

    id: uuid.UUID
    org_id: str
    product: str
    lane: Lane
    waited_seconds: float


@dataclass(frozen=True)
class RateHeaders:
    """Zoho's ``X-Rate-Limit-Limit/Remaining/Reset`` of one response (any may be missing)."""

    limit: int | None
    remaining: int | None
    reset_seconds: float | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateHeaders | None:
        def number(name: str) -> int | None:
            raw = headers.get(name)
            try:
                return int(float(raw)) if raw is not None else None
            except ValueError:
                return None

        parsed = cls(
            number("x-rate-limit-limit"),
            number("x-rate-limit-remaining"),
            number("x-rate-limit-reset"),
        )
        return None if parsed.remaining is None and parsed.limit is None else parsed


class Budget:
    """Grants and releases Zoho calls against the budget every replica shares."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._queues: dict[tuple[str, str], LaneQueue] = defaultdict(LaneQueue)
        self._released: dict[tuple[str, str], asyncio.Event] = defaultdict(asyncio.Event)
        self._waits: dict[str, list[float]] = {lane: [0.0, 0.0] for lane in LANES}
        """Per lane: number of grants and total seconds waited (for /api/zoho/budget)."""

    def limits(self, product: str) -> Limits:
        s = self._settings
        return Limits(
            per_window=s.per_minute_limit,
            window_seconds=s.window_seconds,
            margin_seconds=s.window_margin_seconds,
            max_in_flight=s.max_in_flight,
            daily_limit=s.daily_quota(product),
            daily_reserve=s.daily_reserve,
            daily_window_seconds=s.daily_window_seconds,
        )

    async def acquire(self, org_id: str, product: str, lane: Lane) -> Lease:
        """Wait (bounded by the lane's wait) for a call slot; else :class:`BudgetExhaustedError`."""
        key = (org_id, product)
        bound = getattr(self._settings.max_wait_seconds, lane)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + bound
        queue = self._queues[key]
        metrics.LANE_WAITING.labels(lane).set(queue.waiting[lane] + 1)
        try:
            async with queue.turn(lane, bound):
                while True:
                    lease_id = uuid.uuid4()
                    decision = await self._try(key, lane, lease_id)
                    if decision.granted:
                        waited = loop.time() - started
                        self._record_wait(lane, waited)
                        return Lease(lease_id, org_id, product, lane, waited)
                    left = deadline - loop.time()
                    wait = decision.wait_seconds
                    if (wait is not None and wait > left) or left <= 0:
                        raise self._exhausted(lane, decision)
                    if wait is not None:
                        await asyncio.sleep(min(wait, left))
                    else:
                        await self._wait_for_release(key, left)
        except TimeoutError:
            metrics.BUDGET_REJECTIONS.labels(lane, "queue").inc()
            raise BudgetExhaustedError(
                f"{lane} lane: {product} budget of organization {org_id} busy beyond "
                f"the {bound:g} s wait bound",
                retry_after_seconds=retry_after(None, self._settings.window_seconds / 10),
            ) from None
        finally:
            metrics.LANE_WAITING.labels(lane).set(queue.waiting[lane])

    async def release(
        self,
        lease: Lease,
        *,
        headers: Mapping[str, str] | None = None,
        throttle_code: int | None = None,
    ) -> None:
        """Free the in-flight slot; learn from Zoho's rate headers or a 429 it sent anyway."""
        key = (lease.org_id, lease.product)
        rate = RateHeaders.parse(headers) if headers is not None else None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if rate is not None or throttle_code is not None:
                    locked = await _lock(conn, lease.org_id, lease.product, lease.id)
                    if locked is not None:
                        state, now = locked
                        if rate is not None:
                            state = apply_rate_headers(
                                state,
                                now,
                                limit=rate.limit,
                                remaining=rate.remaining,
                                reset_seconds=rate.reset_seconds,
                                others_in_flight=state.in_flight,
                            )
                        if throttle_code is not None:
                            state = apply_zoho_throttle(
                                state, now, throttle_code, self.limits(lease.product)
                            )
                        await conn.execute(_UPDATE, *key, *_columns(state))
                        self._publish(key, state, self.limits(lease.product))
                await conn.execute(
                    "DELETE FROM zoho_proxy_inflight WHERE id = $1 "
                    "OR (org_id = $2 AND product = $3 AND expires_at < clock_timestamp())",
                    lease.id,
                    *key,
                )
        except CONNECTION_ERRORS as exc:
            # The lease expires on its own; the budget stays safe, just less used for a while.
            logger.warning("could not release budget lease: %s", type(exc).__name__)
        finally:
            self._released[key].set()

    async def snapshot(self) -> list[dict[str, Any]]:
        """Every organization's and product's budget, for ``GET /api/zoho/budget``."""
        rows = await self._fetch(
            "SELECT b.*, clock_timestamp() AS now, "
            "(SELECT count(*) FROM zoho_proxy_inflight i WHERE i.org_id = b.org_id "
            "AND i.product = b.product AND i.expires_at > clock_timestamp()) AS in_flight "
            "FROM zoho_proxy_budgets b ORDER BY org_id, product"
        )
        result = []
        for row in rows:
            limits = self.limits(row["product"])
            state, now = _state(dict(row))
            state = roll(state, now, limits)
            key = (row["org_id"], row["product"])
            queue = self._queues.get(key)
            result.append(
                {
                    "organization_id": row["org_id"],
                    "product": row["product"],
                    "minute": _used_left(len(state.recent_calls), limits.per_window),
                    "window_seconds": limits.window_seconds,
                    "day": {
                        **_used_left(state.day_limit - state.day_remaining, state.day_limit),
                        "reserve": limits.daily_reserve,
                        "resets_in_seconds": round((state.day_reset_at - now).total_seconds(), 1),
                    },
                    "in_flight": _used_left(state.in_flight, limits.max_in_flight),
                    "waiting": {lane: queue.waiting[lane] if queue else 0 for lane in LANES},
                }
            )
        return result

    def lane_waits(self) -> dict[str, dict[str, float]]:
        """This replica's grants and mean wait per lane."""
        return {
            lane: {
                "granted": count,
                "mean_wait_seconds": round(total / count, 4) if count else 0.0,
            }
            for lane, (count, total) in self._waits.items()
        }

    async def _try(self, key: tuple[str, str], lane: Lane, lease_id: uuid.UUID) -> Decision:
        limits = self.limits(key[1])
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                locked = await _lock(conn, *key, _NO_LEASE)
                if locked is None:
                    await conn.execute(_INSERT_ROW, *key, limits.daily_limit,
                                       limits.daily_window_seconds)  # fmt: skip
                    locked = await _lock(conn, *key, _NO_LEASE)
                    assert locked is not None
                stored, now = locked
                decision = decide(stored, now, lane, limits)
                if decision.granted:
                    expires = now + timedelta(
                        seconds=self._settings.request_timeout_seconds + LEASE_SLACK_SECONDS
                    )
                    await conn.execute(_UPDATE, *key, *_columns(decision.state))
                    await conn.execute(
                        "INSERT INTO zoho_proxy_inflight "
                        "(id, org_id, product, lane, started_at, expires_at) "
                        "VALUES ($1, $2, $3, $4, $5, $6)",
                        lease_id, *key, lane, now, expires,
                    )  # fmt: skip
                elif decision.state.day_reset_at != stored.day_reset_at:
                    await conn.execute(_UPDATE, *key, *_columns(decision.state))
        except CONNECTION_ERRORS as exc:
            raise UpstreamUnavailableError(
                f"PostgreSQL unreachable for the budget: {type(exc).__name__}"
            ) from exc
        self._publish(key, decision.state, limits)
        return decision

    async def _wait_for_release(self, key: tuple[str, str], left: float) -> None:
        """Wait for an in-flight slot: woken by a call of this replica ending, or polling for
        one of another replica's."""
        event = self._released[key]
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), min(left, self._settings.budget_poll_seconds))
        except TimeoutError:
            pass

    def _exhausted(self, lane: Lane, decision: Decision) -> BudgetExhaustedError:
        reason = decision.reason or "unknown"
        metrics.BUDGET_REJECTIONS.labels(lane, reason).inc()
        what = {
            "minute": "per-minute rate",
            "in_flight": "in-flight",
            "daily": "daily",
            "daily_reserve": "daily budget outside the live-traffic reserve",
        }.get(reason, reason)
        return BudgetExhaustedError(
            f"{lane} lane: Zoho {what} budget spent",
            retry_after_seconds=retry_after(
                decision.wait_seconds, self._settings.budget_poll_seconds
            ),
        )

    def _record_wait(self, lane: Lane, waited: float) -> None:
        metrics.BUDGET_WAIT.labels(lane).observe(waited)
        self._waits[lane][0] += 1
        self._waits[lane][1] += waited

    def _publish(self, key: tuple[str, str], state: BudgetState, limits: Limits) -> None:
        org, product = key
        metrics.BUDGET_REMAINING.labels(org, product, "minute").set(
            max(0, limits.per_window - len(state.recent_calls))
        )
        metrics.BUDGET_REMAINING.labels(org, product, "day").set(state.day_remaining)
        metrics.BUDGET_REMAINING.labels(org, product, "in_flight").set(
            max(0, limits.max_in_flight - state.in_flight)
        )

    async def _fetch(self, query: str) -> list[asyncpg.Record]:
        try:
            return list(await self._pool.fetch(query))
        except CONNECTION_ERRORS as exc:
            raise UpstreamUnavailableError(f"PostgreSQL unreachable: {type(exc).__name__}") from exc


async def _lock(
    conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    org_id: str,
    product: str,
    own_lease: uuid.UUID,
) -> tuple[BudgetState, datetime] | None:
    """Lock the budget row, then read the live in-flight count (not counting ``own_lease``)."""
    row = await conn.fetchrow(_LOCK, org_id, product)
    if row is None:
        return None
    live = await conn.fetchrow(_IN_FLIGHT, org_id, product, own_lease)
    assert live is not None
    return _state({**dict(row), **dict(live)})


def _state(row: Mapping[str, Any]) -> tuple[BudgetState, datetime]:
    state = BudgetState(
        recent_calls=tuple(row["recent_calls"]),
        day_limit=row["day_limit"],
        day_remaining=row["day_remaining"],
        day_reset_at=row["day_reset_at"],
        in_flight=int(row["in_flight"]),
    )
    return state, row["now"]


def _columns(state: BudgetState) -> tuple[Any, ...]:
    return (list(state.recent_calls), state.day_limit, state.day_remaining, state.day_reset_at)


def _used_left(used: int, limit: int) -> dict[str, int]:
    return {"limit": limit, "used": max(0, used), "left": max(0, limit - used)}
