"""The shared API budget: per organization and product, held in PostgreSQL for all replicas.

One ``zoho_proxy_budgets`` row per organization and product holds the rate window's call log,
the daily countdown and the calls in flight (lease id -> expiry, so a replica killed mid-call
frees its slots after ``request_timeout + LEASE_SLACK_SECONDS``). A decision reads the row, runs
:func:`zoho_proxy.budget_rules.decide` and writes the result back only if the row's ``version``
is unchanged (optimistic concurrency): two round trips and no lock held across them, so the
shared budget costs about a millisecond per call. A lost race simply decides again.

Zoho's rate headers and any 429 it sends anyway are remembered per replica and folded into the
row with the next decision (a 429 at once), so releasing a call is one ``UPDATE``. Inside a
replica, :class:`LaneQueue` decides who asks next (webhook, write, incremental, bulk).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg

from tds_common.db import CONNECTION_ERRORS, database_unavailable_as_error
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
    lane_priority,
    outranked,
    retry_after,
    roll,
)
from zoho_proxy.deadline import seconds_left
from zoho_proxy.errors import BudgetExhaustedError
from zoho_proxy.lanes import LaneQueue
from zoho_proxy.settings import Settings

logger = logging.getLogger(__name__)

LEASE_SLACK_SECONDS: Final = 5.0
ADVERT_HOLD_SECONDS: Final = 0.25
"""A waiting higher lane holds lower lanes back until its expected retry plus this; renewed
at each of its attempts, so it lapses shortly after its callers are served or give up."""
MAX_WRITE_CONFLICTS: Final = 50
"""Lost races in a row before a decision gives up for this round (and the caller polls)."""

DbOperation = Literal["read", "write", "insert_row", "release"]
"""The ``operation`` label of ``tds_zoho_proxy_budget_db_seconds``: one per statement."""

# The jsonb columns travel as text both ways (``::text`` out, ``$n::text::jsonb`` in, with
# json.loads/dumps here), so these queries ignore the pool's JSON codecs (tds_common.db).
_SELECT: Final = """
SELECT recent_calls, day_limit, day_remaining, day_reset_at, in_flight::text AS in_flight,
       lane_waiting::text AS lane_waiting, version, clock_timestamp() AS now
  FROM zoho_proxy_budgets WHERE org_id = $1 AND product = $2
"""
_INSERT_ROW: Final = """
INSERT INTO zoho_proxy_budgets (org_id, product, recent_calls, day_limit, day_remaining,
                                day_reset_at)
VALUES ($1, $2, '{}', $3, $3, clock_timestamp() + make_interval(secs => $4))
ON CONFLICT DO NOTHING
"""
_WRITE: Final = """
UPDATE zoho_proxy_budgets
   SET recent_calls = $3, day_limit = $4, day_remaining = $5, day_reset_at = $6,
       in_flight = $7::text::jsonb, lane_waiting = $8::text::jsonb, version = version + 1,
       updated_at = clock_timestamp()
 WHERE org_id = $1 AND product = $2 AND version = $9
"""
# Zoho counted the call at some moment between grant and answer, so from the answer on the
# call's place in the rate window starts at the answer: no delay can make Zoho see more.
_RELEASE: Final = """
UPDATE zoho_proxy_budgets
   SET in_flight = CASE WHEN $5 THEN in_flight ELSE in_flight - $3::text END,
       recent_calls = CASE WHEN $4::timestamptz = ANY (recent_calls)
                           THEN array_replace(recent_calls, $4::timestamptz, clock_timestamp())
                           ELSE recent_calls || clock_timestamp() END,
       version = version + 1
 WHERE org_id = $1 AND product = $2
"""


@dataclass(frozen=True)
class Lease:
    """A granted call: release it exactly once with :meth:`Budget.release`."""

    id: uuid.UUID
    org_id: str
    product: str
    lane: Lane
    waited_seconds: float
    granted_at: datetime | None = None
    """The database time of the grant: the call's entry in the rate window."""


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


@dataclass
class _Pending:
    """What Zoho told this replica since its last write of the row."""

    rate: RateHeaders | None = None
    rate_seen_at: float = 0.0
    throttles: list[int] = field(default_factory=list)
    seq: int = 0


@dataclass(frozen=True)
class _Row:
    state: BudgetState
    leases: dict[str, float]
    """Live leases only: id -> expiry (Unix seconds)."""
    lane_waiting: dict[str, float]
    """Lanes with callers waiting on some replica: lane -> until (Unix seconds), live only."""
    version: int
    now: datetime


class Budget:
    """Grants and releases Zoho calls against the budget every replica shares."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._priority = lane_priority(settings.lane_order)
        self._queues: dict[tuple[str, str], LaneQueue] = defaultdict(
            lambda: LaneQueue(self._priority)
        )
        self._released: dict[tuple[str, str], asyncio.Event] = defaultdict(asyncio.Event)
        self._pending: dict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._releases: set[asyncio.Task[None]] = set()
        self._releasing: set[str] = set()
        """Leases answered but whose release write has not landed yet."""
        self._waits: dict[str, list[float]] = {lane: [0.0, 0.0] for lane in LANES}
        """Per lane: number of grants and total seconds waited (for /api/zoho/budget)."""

    def pool_of(self, product: str) -> str:
        """The budget row a product spends from: its own, or Books' when Zoho shares them."""
        return "books" if self._settings.shared_product_pools else product

    def per_minute(self, product: str) -> int:
        """Calls per window of the product's pool (Inventory may have its own limit)."""
        s = self._settings
        if self.pool_of(product) == "inventory" and s.inventory_per_minute_limit is not None:
            return s.inventory_per_minute_limit
        return s.per_minute_limit

    def limits(self, product: str) -> Limits:
        s = self._settings
        return Limits(
            per_window=self.per_minute(product),
            window_seconds=s.window_seconds,
            margin_seconds=s.window_margin_seconds,
            max_in_flight=s.max_in_flight,
            daily_limit=s.daily_quota(product),
            daily_reserve=s.daily_reserve,
            daily_window_seconds=s.daily_window_seconds,
        )

    async def acquire(self, org_id: str, product: str, lane: Lane) -> Lease:
        """Wait (bounded by the lane's wait) for a call slot; else :class:`BudgetExhaustedError`."""
        key = (org_id, self.pool_of(product))
        bound = getattr(self._settings.max_wait_seconds, lane)
        left = seconds_left()
        if left is not None:  # the caller gives up sooner: answer before it does
            bound = max(0.0, min(bound, left))
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + bound
        queue = self._queues[key]
        metrics.LANE_WAITING.labels(lane).set(queue.waiting[lane] + 1)
        try:
            while True:  # re-queues when a caller of a higher lane arrives meanwhile
                async with queue.turn(lane, max(0.0, deadline - loop.time())):
                    while True:
                        lease_id = uuid.uuid4()
                        left = deadline - loop.time()
                        decision = await self._try(key, lane, lease_id, left)
                        if decision.granted:
                            waited = loop.time() - started
                            self._record_wait(lane, waited)
                            granted_at = decision.state.recent_calls[-1]
                            return Lease(lease_id, org_id, product, lane, waited, granted_at)
                        left = deadline - loop.time()
                        wait = decision.wait_seconds
                        if (wait is not None and wait > left) or left <= 0:
                            raise self._exhausted(lane, decision)
                        if queue.has_waiter_above(lane):
                            break  # step aside: the turn goes to the higher lane
                        if wait is not None:
                            await asyncio.sleep(min(wait, left))
                        else:
                            await self._wait_for_release(key, left)
                await asyncio.sleep(0)
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
        hold_in_flight: bool = False,
    ) -> None:
        """Free the in-flight slot; remember Zoho's rate headers or a 429 it sent anyway.

        ``hold_in_flight``: we stopped waiting (timeout) but Zoho may still be working on the
        call, so its slot stays taken until the lease expires on its own.

        The database write runs in the background, off the caller's latency: until it lands
        the slot counts as taken and the window entry sits at the grant, both on the safe side.
        :meth:`drain` waits for the writes still on their way.
        """
        key = (lease.org_id, self.pool_of(lease.product))
        rate = RateHeaders.parse(headers) if headers is not None else None
        pending = self._pending[key]
        if rate is not None:
            pending.rate = rate
            pending.rate_seen_at = asyncio.get_running_loop().time()
            pending.seq += 1
        if throttle_code is not None:
            pending.throttles.append(throttle_code)
            pending.seq += 1
        if not hold_in_flight:
            self._releasing.add(str(lease.id))
            self._released[key].set()  # local waiters may take the slot already
        task = asyncio.create_task(self._write_release(lease, key, throttle_code, hold_in_flight))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def drain(self) -> None:
        """Wait for the release writes still in progress (shutdown, tests)."""
        while self._releases:
            await asyncio.gather(*list(self._releases), return_exceptions=True)

    async def _write_release(
        self,
        lease: Lease,
        key: tuple[str, str],
        throttle_code: int | None,
        hold_in_flight: bool,
    ) -> None:
        try:
            await self._execute(
                "release", _RELEASE, *key, str(lease.id), lease.granted_at, hold_in_flight
            )
            if throttle_code is not None:
                await self._try(key, None, None)  # tell the other replicas at once
        except (*CONNECTION_ERRORS, UpstreamUnavailableError) as exc:
            # The lease expires on its own; the budget stays safe, just less used for a while.
            logger.warning("could not release budget lease: %s", type(exc).__name__)
        except Exception:  # a background task must not die silently
            logger.exception("could not release budget lease")
        finally:
            self._releasing.discard(str(lease.id))
            self._released[key].set()

    async def snapshot(self) -> list[dict[str, Any]]:
        """Every organization's and product's budget, for ``GET /api/zoho/budget``."""
        await self.drain()
        rows = await self._fetch(
            "SELECT org_id, product, recent_calls, day_limit, day_remaining, day_reset_at, "
            "in_flight::text AS in_flight, lane_waiting::text AS lane_waiting, version, "
            "clock_timestamp() AS now FROM zoho_proxy_budgets ORDER BY org_id, product"
        )
        result = []
        for row in rows:
            limits = self.limits(row["product"])
            parsed = _parse(row)
            key = (row["org_id"], row["product"])
            # What Zoho told this replica since the row was written (e.g. a new day began)
            # counts at once: callers plan their spending on this answer.
            told = self._fold(parsed.state, parsed.now, self._pending.get(key), limits)
            state, now = roll(told, parsed.now, limits), parsed.now
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
                    "lanes_holding_back_lower": sorted(parsed.lane_waiting),
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

    async def _try(
        self,
        key: tuple[str, str],
        lane: Lane | None,
        lease_id: uuid.UUID | None,
        max_wait: float = 0.0,
    ) -> Decision:
        """Decide for ``lane`` and write the outcome (``lane=None``: only fold in what Zoho
        told us). A webhook or incremental caller that will wait (up to ``max_wait``)
        advertises it in the row, holding lower lanes back on every replica. Retries lost
        write races; gives up as "in flight" after too many."""
        limits = self.limits(key[1])
        ttl = self._settings.request_timeout_seconds + LEASE_SLACK_SECONDS
        with database_unavailable_as_error("PostgreSQL unreachable for the budget"):
            for _ in range(MAX_WRITE_CONFLICTS):
                record = await self._fetchrow("read", _SELECT, *key)
                if record is None:
                    await self._execute(
                        "insert_row",
                        _INSERT_ROW,
                        *key,
                        limits.daily_limit,
                        limits.daily_window_seconds,
                    )
                    continue
                row = _parse(record, self._releasing)
                pending = self._pending.get(key)
                seq = pending.seq if pending is not None else 0
                state = self._fold(row.state, row.now, pending, limits)
                leases = row.leases
                stamp = row.now.timestamp()
                if lane is None:
                    decision = Decision(False, state)
                else:
                    held_back = outranked(lane, row.lane_waiting, stamp, self._priority)
                    decision = decide(state, row.now, lane, limits, outranked=held_back)
                waiting = _advertise(row.lane_waiting, lane, decision, stamp, max_wait)
                if decision.granted:
                    assert lease_id is not None
                    leases = {**leases, str(lease_id): stamp + ttl}
                elif (
                    state == row.state
                    and decision.state.day_reset_at == row.state.day_reset_at
                    and waiting is row.lane_waiting
                ):
                    self._publish(key, decision.state, limits)
                    return decision  # nothing to write
                written = await self._execute(
                    "write",
                    _WRITE,
                    *key,
                    *_columns(decision.state),
                    json.dumps(leases),
                    json.dumps(waiting),
                    row.version,
                )
                if written.endswith(" 1"):
                    self._consumed(key, seq)
                    self._publish(key, decision.state, limits)
                    return decision
                metrics.BUDGET_WRITE_CONFLICTS.inc()
            logger.info(
                "budget row contended; polling", extra={"org_id": key[0], "budget_pool": key[1]}
            )
            return Decision(False, row.state, "in_flight", None)

    def _fold(
        self, state: BudgetState, now: datetime, pending: _Pending | None, limits: Limits
    ) -> BudgetState:
        """Apply what Zoho told this replica since the last write."""
        if pending is None:
            return state
        if pending.rate is not None:
            age = asyncio.get_running_loop().time() - pending.rate_seen_at
            reset = pending.rate.reset_seconds
            state = apply_rate_headers(
                state,
                now,
                limit=pending.rate.limit,
                remaining=pending.rate.remaining,
                reset_seconds=None if reset is None else max(0.0, reset - age),
                others_in_flight=state.in_flight,
            )
        for code in pending.throttles:
            state = apply_zoho_throttle(state, now, code, limits)
        return state

    def _consumed(self, key: tuple[str, str], seq: int) -> None:
        """Forget what was written, unless Zoho told us something new meanwhile."""
        pending = self._pending.get(key)
        if pending is not None and pending.seq == seq:
            del self._pending[key]

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
            "priority": "budget (held for waiting higher-lane calls)",
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

    async def _fetchrow(
        self, operation: DbOperation, query: str, *args: Any
    ) -> asyncpg.Record | None:
        with metrics.BUDGET_DB.labels(operation).time():
            return await self._pool.fetchrow(query, *args)

    async def _execute(self, operation: DbOperation, query: str, *args: Any) -> str:
        """One statement on the budget row, timed: a stalled commit shows in ``write`` and
        ``release`` (BUDGET_WAIT cannot tell it from waiting for the window)."""
        with metrics.BUDGET_DB.labels(operation).time():
            return await self._pool.execute(query, *args)

    async def _fetch(self, query: str) -> list[asyncpg.Record]:
        with database_unavailable_as_error():
            return list(await self._pool.fetch(query))


def _advertise(
    lane_waiting: dict[str, float],
    lane: Lane | None,
    decision: Decision,
    now_epoch: float,
    max_wait: float,
) -> dict[str, float]:
    """``lane_waiting`` with this caller's lane advertised, when it is about to wait.

    Returns the same object when nothing needs writing (the advert is fresh enough).
    """
    if lane is None or lane == "bulk" or decision.granted:
        return lane_waiting
    if decision.reason not in ("minute", "in_flight", "priority"):
        return lane_waiting  # a spent day is not waited for
    wait = decision.wait_seconds or 0.0
    if wait > max_wait:
        return lane_waiting  # it will give up now: no reason to hold others back
    until = now_epoch + wait + ADVERT_HOLD_SECONDS
    if lane_waiting.get(lane, 0.0) >= until - ADVERT_HOLD_SECONDS / 2:
        return lane_waiting
    return {**lane_waiting, lane: until}


def _parse(record: asyncpg.Record, answered: set[str] | frozenset[str] = frozenset()) -> _Row:
    """The row as state; leases in ``answered`` (this replica has their answer, the release
    write is on its way) no longer count as in flight."""
    now: datetime = record["now"]
    stamp = now.timestamp()
    leases = {
        lease: float(expiry)
        for lease, expiry in json.loads(record["in_flight"]).items()
        if float(expiry) > stamp
    }
    state = BudgetState(
        recent_calls=tuple(record["recent_calls"]),
        day_limit=record["day_limit"],
        day_remaining=record["day_remaining"],
        day_reset_at=record["day_reset_at"],
        in_flight=sum(1 for lease in leases if lease not in answered),
    )
    lane_waiting = {
        lane: float(until)
        for lane, until in json.loads(record["lane_waiting"]).items()
        if float(until) > stamp
    }
    return _Row(state, leases, lane_waiting, record["version"], now)


def _columns(state: BudgetState) -> tuple[Any, ...]:
    return (list(state.recent_calls), state.day_limit, state.day_remaining, state.day_reset_at)


def _used_left(used: int, limit: int) -> dict[str, int]:
    return {"limit": limit, "used": max(0, used), "left": max(0, limit - used)}
