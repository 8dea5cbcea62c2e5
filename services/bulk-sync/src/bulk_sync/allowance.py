"""How many Zoho calls an optional step of a run may still spend now.

Detail reads, stock refreshes and drift verification come after a run's own listing and are
optional: each is bounded by its own per-run cap and by the bulk lane's share of today's budget
as zoho-proxy reports it (``GET /api/zoho/budget``), less ``detail_headroom_calls`` kept for
the list calls of the organization's other runs. Whichever is smaller wins; when zoho-proxy
cannot say, the step spends nothing rather than guess.
"""

from __future__ import annotations

import logging

from bulk_sync.context import RunContext
from tds_common.errors import ServiceError

logger = logging.getLogger(__name__)


async def calls_allowed(
    ctx: RunContext, *, cap: int | None, spent: int, product: str, step: str, unbounded: int
) -> int:
    """Calls ``step`` may spend now; ``unbounded`` when neither its cap nor the budget limits it."""
    left = None if cap is None else max(0, cap - spent)
    try:
        share = await ctx.proxy.bulk_share_left(ctx.org_id, product)
    except ServiceError as exc:
        logger.warning("zoho-proxy's budget unreadable (%s): no %s now", exc, step)
        return 0
    if share is not None:
        share = max(0, share - ctx.settings.detail_headroom_calls)
    known = [n for n in (left, share) if n is not None]
    return min(known) if known else unbounded
