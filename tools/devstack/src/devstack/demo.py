"""``make run``'s main job on the simulator's seeded dataset, with live progress and a summary.

1. A full bulk sync through bulk-sync (when that service exists), followed run by run.
2. A stream of edits in the simulator; each one reaches ingest as a Zoho webhook, travels through
   Kafka to the processor and lands in the mirror. We wait for every edit's row and time it.
3. A summary: rows per mirror table, Zoho API calls spent against the budget, and the
   webhook-to-row delay (edit in "Zoho" → row committed in PostgreSQL).
4. Where to open Jaeger, and the trace of one thin webhook sent for the purpose (ingest →
   Kafka → processor → zoho-proxy → Zoho), when Jaeger runs.

What is not running is said, not faked.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack import jaeger, processes, prometheus
from devstack.stack import APPS, stack_env
from tds_common.catalogue import ENTITIES

console = Console()

SIM_URL: Final = "http://127.0.0.1:8090"
INGEST_URL: Final = "http://127.0.0.1:8001"
BULK_SYNC_URL: Final = "http://127.0.0.1:8003"
ROW_WAIT_SECONDS: Final = 60.0
SYNC_WAIT_SECONDS: Final = 900.0

EDIT_FIELDS: Final = ("reference_number", "description", "phone")
"""Text fields the demo edits, the first the entity's catalogue entry has."""


@dataclass(frozen=True)
class Editable:
    entity: str
    sim_entity: str
    """The simulator's name for it: Zoho's path (``creditnotes``)."""
    table: str
    id_column: str
    edit_field: str


def _editable() -> list[Editable]:
    """Every record entity with webhooks whose catalogue entry has a field the demo can edit."""
    editable = []
    for spec in ENTITIES.values():
        columns = {column.name for column in spec.columns}
        field = next((name for name in EDIT_FIELDS if name in columns), None)
        if spec.webhook and spec.kind == "record" and field is not None:
            path = spec.path.removeprefix("/")
            editable.append(Editable(spec.name, path, spec.table, spec.id_field, field))
    return editable


EDITABLE: Final = _editable()
MIRROR_TABLES: Final = tuple(table for spec in ENTITIES.values() for table in spec.tables)


@dataclass
class Edit:
    entity: str
    table: str
    id_column: str
    zoho_id: str
    last_modified_time: str
    started: float
    landed: float | None = None


@dataclass
class Report:
    notes: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    missing: int = 0


def _up(port: int) -> bool:
    return processes.port_open(port)


def webhook_token(env: dict[str, str]) -> str:
    """A webhook token of the demo's organization, from either form of ``WEBHOOK_SECRETS``
    (JSON organization -> tokens, or the comma-separated list bound to the default one)."""
    raw = env.get("WEBHOOK_SECRETS", "").strip()
    if not raw.startswith("{"):
        return raw.split(",")[0].strip()
    bound: dict[str, Any] = json.loads(raw)
    tokens: str | list[str] = bound.get(env.get("ZOHO_ORGANIZATION_ID", "")) or next(
        iter(bound.values()), []
    )
    return str(tokens.split(",")[0] if isinstance(tokens, str) else tokens[0]).strip()


def _api_headers(env: dict[str, str]) -> dict[str, str]:
    """The operator's bearer token, which bulk-sync's API asks for."""
    token = env.get("TDS_API_TOKEN", "")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _full_sync(client: httpx.Client, org: str, report: Report, env: dict[str, str]) -> None:
    if not _up(8003):
        report.notes.append(
            "bulk-sync is not built yet: no full sync ran (rows come from webhooks)"
        )
        return
    response = client.post(
        f"{BULK_SYNC_URL}/api/zoho/bulk-sync",
        json={"org_id": org, "mode": "full"},
        headers=_api_headers(env),
    )
    if response.status_code == 404:
        report.notes.append("bulk-sync has no sync API yet: no full sync ran")
        return
    response.raise_for_status()
    run_ids = [run["id"] for run in response.json().get("runs", [response.json()])]
    deadline = time.monotonic() + SYNC_WAIT_SECONDS
    with _progress() as progress:
        tasks = {rid: progress.add_task(f"full sync {rid[:8]}", total=None) for rid in run_ids}
        pending = set(run_ids)
        while pending and time.monotonic() < deadline:
            for rid in list(pending):
                run = client.get(
                    f"{BULK_SYNC_URL}/api/zoho/sync/runs/{rid}", headers=_api_headers(env)
                ).json()
                progress.update(
                    tasks[rid],
                    description=f"full sync {run.get('entity_type', '')} [{run['status']}]",
                    total=run.get("total_items") or None,
                    completed=run.get("processed_items", 0),
                )
                # needs_confirmation: the list completed, its deletions wait for a person.
                if run["status"] in ("completed", "failed", "cancelled", "needs_confirmation"):
                    pending.discard(rid)
                    if run["status"] != "completed":
                        report.notes.append(f"sync run {rid} ended {run['status']}")
            time.sleep(0.5)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _configure_webhooks(client: httpx.Client, env: dict[str, str]) -> None:
    secret = webhook_token(env)
    client.put(
        f"{SIM_URL}/_sim/webhooks",
        json={
            "url_template": f"{INGEST_URL}/api/zoho/webhooks/{{entity}}?op={{event}}",
            "headers": {"X-TDS-Webhook-Token": secret},
            "events": ["create", "edit", "delete"],
        },
    ).raise_for_status()


def _make_edits(client: httpx.Client, org: str, rounds: int) -> list[Edit]:
    """Create a record per editable entity and edit it ``rounds`` times; stock moves too."""
    edits: list[Edit] = []
    with _progress() as progress:
        task = progress.add_task("edits in Zoho (simulator)", total=rounds * (len(EDITABLE) + 1))
        for editable in EDITABLE:
            entity, sim_entity = editable.entity, editable.sim_entity
            created = client.post(f"{SIM_URL}/_sim/orgs/{org}/{sim_entity}", json={})
            created.raise_for_status()
            record: dict[str, Any] = created.json()["record"]
            zoho_id = str(record[editable.id_column])
            for n in range(rounds):
                started = time.time()
                edited = client.patch(
                    f"{SIM_URL}/_sim/orgs/{org}/{sim_entity}/{zoho_id}",
                    json={editable.edit_field: f"edited by make run #{n}"},
                )
                edited.raise_for_status()
                stamp = edited.json()["record"]["last_modified_time"]
                edits.append(
                    Edit(entity, editable.table, editable.id_column, zoho_id, stamp, started)
                )
                progress.advance(task)
            if entity == "products":
                _move_stock(client, org, record, rounds, progress, task)
    return edits


def _move_stock(
    client: httpx.Client, org: str, item: dict[str, Any], rounds: int, progress: Any, task: Any
) -> None:
    warehouses = item.get("warehouses") or []
    if not warehouses:
        progress.advance(task, rounds)
        return
    for _ in range(rounds):
        client.post(
            f"{SIM_URL}/_sim/orgs/{org}/stock",
            json={
                "item_id": item["item_id"],
                "warehouse_id": warehouses[0]["warehouse_id"],
                "delta": 1,
            },
        ).raise_for_status()
        progress.advance(task)


def _await_rows(conn: psycopg.Connection[Any], org: str, edits: list[Edit], report: Report) -> None:
    from tds_common.events import parse_zoho_timestamp

    deadline = time.monotonic() + ROW_WAIT_SECONDS
    waiting = list(edits)
    with _progress() as progress:
        task = progress.add_task("webhook → Kafka → mirror rows", total=len(edits))
        while waiting and time.monotonic() < deadline:
            still: list[Edit] = []
            for edit in waiting:
                row = conn.execute(
                    f"SELECT synced_at FROM {edit.table} WHERE org_id = %s"
                    f" AND {edit.id_column} = %s AND zoho_last_modified_time >= %s",
                    (org, edit.zoho_id, parse_zoho_timestamp(edit.last_modified_time)),
                ).fetchone()
                if row is None:
                    still.append(edit)
                    continue
                edit.landed = row[0].timestamp()
                report.delays.append(max(0.0, edit.landed - edit.started))
                progress.advance(task)
            waiting = still
            if waiting:
                time.sleep(0.2)
    report.missing = len(waiting)


def _summary(conn: psycopg.Connection[Any], client: httpx.Client, org: str, report: Report) -> None:
    table = Table("mirror table", "rows", "deleted", title=f"Mirror of organization {org}")
    for name in MIRROR_TABLES:
        total, deleted = conn.execute(
            f"SELECT count(*), count(deleted_at) FROM {name} WHERE org_id = %s", (org,)
        ).fetchone() or (0, 0)
        table.add_row(name.removeprefix("zoho."), str(total), str(deleted))
    console.print(table)

    if report.delays:
        ordered = sorted(report.delays)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        console.print(
            f"webhook-to-row delay over {len(ordered)} edits: p50 "
            f"{statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms; not landed within {ROW_WAIT_SECONDS:.0f} s: "
            f"{report.missing}"
        )
    console.print(_budget_table(client.get(f"{SIM_URL}/_sim/counters").json()))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")


def _trace_hint(client: httpx.Client, org: str, env: dict[str, str]) -> None:
    """Send one thin webhook with a trace id of ours and say where Jaeger shows its trace."""
    config = jaeger.JaegerConfig()
    if not jaeger.running(config):
        console.print(
            "tracing: Jaeger is not running, spans are not exported "
            "(make jaeger builds it; make down && make up starts it)"
        )
        return
    created = client.post(f"{SIM_URL}/_sim/orgs/{org}/items", json={})
    created.raise_for_status()
    record = created.json()["record"]
    trace_id = secrets.token_hex(16)
    # The id and version only: the processor reads the record through zoho-proxy.
    thin = {"item_id": record["item_id"], "last_modified_time": record["last_modified_time"]}
    client.post(
        f"{INGEST_URL}/api/zoho/webhooks/products",
        json={"item": thin},
        headers={
            "X-TDS-Webhook-Token": webhook_token(env),
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
    ).raise_for_status()
    # The UI needs a built jaeger-ui (TDS_JAEGER_UI_ASSETS); the query API always answers.
    where = (
        jaeger.trace_url(config.ui_url, trace_id)
        if config.ui_assets
        else jaeger.trace_api_url(config.ui_url, trace_id)
    )
    console.print(
        f"Jaeger: {config.ui_url}; one thin webhook's trace (ingest → processor → "
        f"zoho-proxy → Zoho), trace id {trace_id}: {where}"
    )


def _metrics_hint() -> None:
    """Where Prometheus shows the stack's metrics and the chart's alerts."""
    config = prometheus.PrometheusConfig()
    if processes.read_pid(config.name) is None:
        console.print(
            "metrics: Prometheus is not running (make prometheus installs it; make down && "
            "make up starts it); each service answers GET /metrics",
            soft_wrap=True,
        )
        return
    example = 'sum by (status_code) (rate(tds_ingest_webhooks_total{namespace="tds"}[5m]))'
    graph = f"{config.url}/graph?g0.expr={urllib.parse.quote(example)}&g0.tab=0"
    console.print(
        f"Prometheus: {config.url} (every service scraped; the chart's alerts: {config.url}"
        f"/alerts); webhooks by status: {graph}; every dashboard's queries: "
        "charts/tds/files/dashboards (make dashboards)",
        soft_wrap=True,  # the link must stay one line to be clickable
    )


BUDGET_COLUMNS: Final = (
    "org / product",
    "calls",
    "busiest window",
    "in flight",
    "day used",
    "429s",
)


def _budget_table(counters: dict[str, Any]) -> Table:
    """What Zoho (the simulator) saw: calls, the busiest window against the limit, 429s."""
    table = Table(*BUDGET_COLUMNS, title="Zoho API budget, as Zoho saw it")
    for org_id, products in (counters.get("budgets") or {}).items():
        for product, n in products.items():
            throttled = sum((n.get("throttled") or {}).values())
            table.add_row(
                f"{org_id} {product}",
                str(n.get("calls")),
                f"{n.get('peak_window_calls')}/{n.get('window_seconds', 60):.0f}s",
                f"{n.get('in_flight_peak')}/{n.get('in_flight_limit')}",
                f"{n.get('daily_used')}/{n.get('daily_quota')}",
                f"[red]{throttled}[/]" if throttled else "0",
            )
    return table


def run(rounds: int = 5) -> int:
    env = stack_env()
    org = env.get("ZOHO_ORGANIZATION_ID", "60000000001")
    report = Report()
    missing = [app.name for app in APPS if not _up(app.port)]
    for name in missing:
        report.notes.append(f"{name} is not running (not built yet?)")
    with httpx.Client(timeout=30.0) as client, psycopg.connect(env["DATABASE_URL"]) as conn:
        conn.autocommit = True
        if _up(8090):
            _full_sync(client, org, report, env)
        if {"zoho-sim", "ingest", "processor"} & set(missing):
            report.notes.append("the webhook stream needs zoho-sim, ingest and processor")
        else:
            _configure_webhooks(client, env)
            edits = _make_edits(client, org, rounds)
            _await_rows(conn, org, edits, report)
        if _up(8090):
            _summary(conn, client, org, report)
        if not {"zoho-sim", "ingest", "processor", "zoho-proxy"} & set(missing):
            _trace_hint(client, org, env)
        _metrics_hint()
    return 1 if report.missing else 0
