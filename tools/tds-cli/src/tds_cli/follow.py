"""``tds sync start --follow``: a live progress bar per run until every run has ended.

Each bar shows the run's records (processed of total), the pages its checkpoint has reached, the
Zoho calls it spent, what is left of its organization's Zoho budget (zoho-proxy's
``/api/zoho/budget``) and the documents still without details (bulk-sync's
``/api/zoho/sync/completeness``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tds_cli.api import CommandError, Services

ENDED: Final = frozenset({"completed", "failed", "cancelled", "needs_confirmation"})


def pages(run: dict[str, Any]) -> int:
    """The page the run's checkpoint reached: its entity's cursor, or one nested in it."""
    state = (run.get("checkpoint") or {}).get(run["entity_type"])
    candidates = [state] + (list(state.values()) if isinstance(state, dict) else [])
    for cursor in candidates:
        if isinstance(cursor, dict) and str(cursor.get("page", "")).isdigit():
            return int(cursor["page"])
    return 0


def budget_left(budget: dict[str, Any], run: dict[str, Any]) -> str:
    """The run's organization's budget: minute and day calls left (its product when known)."""
    rows = [b for b in budget.get("budgets", []) if b.get("organization_id") == run["org_id"]]
    mine = [b for b in rows if b.get("product") == run.get("source_type")] or rows
    if not mine:
        return "?"
    b = mine[0]
    return f"{b['minute']['left']}/{b['minute']['limit']} min, {b['day']['left']} day"


def details_pending(completeness: dict[str, Any], run: dict[str, Any]) -> int | None:
    org = completeness.get("organizations", {}).get(run["org_id"], {})
    counts = org.get(run["entity_type"])
    return None if counts is None else int(counts.get("details_pending", 0))


def describe(run: dict[str, Any], budget: dict[str, Any], completeness: dict[str, Any]) -> str:
    pending = details_pending(completeness, run)
    return escape(
        f"{run['entity_type']} [{run['status']}] pages {pages(run)} · calls {run['api_calls']}"
        f" · budget {budget_left(budget, run)}"
        f" · details pending {'?' if pending is None else pending}"
    )


def _optional(fetch: Callable[[], Any]) -> dict[str, Any]:
    """Budget and completeness decorate the bars; their absence never stops following."""
    try:
        result = fetch()
    except CommandError:
        return {}
    return result if isinstance(result, dict) else {}


def follow(
    services: Services,
    run_ids: list[str],
    console: Console,
    *,
    interval_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Poll until every run has ended; returns the runs as they ended."""
    final: dict[str, dict[str, Any]] = {}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        tasks = {rid: progress.add_task(rid[:8], total=None) for rid in run_ids}
        while len(final) < len(run_ids):
            budget = _optional(lambda: services.zoho_proxy.get("/api/zoho/budget"))
            completeness = _optional(lambda: services.bulk_sync.get("/api/zoho/sync/completeness"))
            for rid in run_ids:
                if rid in final:
                    continue
                run = services.bulk_sync.get(f"/api/zoho/sync/runs/{rid}")
                progress.update(
                    tasks[rid],
                    description=describe(run, budget, completeness),
                    total=run.get("total_items") or None,
                    completed=run.get("processed_items", 0),
                )
                if run["status"] in ENDED:
                    final[rid] = run
            if len(final) < len(run_ids):
                sleep(interval_seconds)
    return [final[rid] for rid in run_ids]
