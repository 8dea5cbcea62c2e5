"""The ``tds`` command: ``tds --help`` lists every subcommand.

Every command reads its settings from the environment (``TDS_*``, ``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``ZOHO_PROXY_URL``) with flags on top, prints a table (or the
API's JSON with ``--output json``) and exits 1 with a one-line reason when something failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from tds_cli import doctor
from tds_cli.api import CommandError, Services
from tds_cli.follow import follow
from tds_cli.render import Output, emit
from tds_cli.settings import CliSettings
from tds_common.catalogue import ENTITIES

P = ParamSpec("P")

RUN_COLUMNS = (
    "id",
    "entity_type",
    "run_type",
    "status",
    "processed_items",
    "total_items",
    "api_calls",
    "details_pending",
    "requested_at",
    "completed_at",
)


@dataclass
class Context:
    overrides: dict[str, Any]
    output: Output
    transport: httpx.BaseTransport | None
    console: Console = field(default_factory=Console)

    def settings(self) -> CliSettings:
        try:
            return CliSettings(**{k: v for k, v in self.overrides.items() if v is not None})
        except ValidationError as exc:
            raise CommandError(f"invalid settings: {exc}") from exc

    def services(self, settings: CliSettings | None = None) -> Services:
        return Services(settings or self.settings(), self.transport)

    def emit(self, data: Any, **kwargs: Any) -> None:
        emit(self.console, data, self.output, **kwargs)


def _ctx(typer_ctx: typer.Context) -> Context:
    context: Context = typer_ctx.obj
    return context


def _api_call(
    typer_ctx: typer.Context, service: str, method: str, path: str, body: Any = None
) -> Any:
    services = _ctx(typer_ctx).services()
    try:
        api = getattr(services, service)
        return api.get(path) if method == "GET" else api.post(path, body)
    finally:
        services.close()


def handled(command: Callable[P, None]) -> Callable[P, None]:
    """A command whose :class:`CommandError` becomes ``error: <reason>`` on stderr and exit 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except CommandError as exc:
            Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None

    return run


def create_app(transport: httpx.BaseTransport | None = None) -> typer.Typer:
    """The command tree; ``transport`` replaces the network in tests."""
    app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
    sync = typer.Typer(help="Start bulk syncs.", no_args_is_help=True)
    run = typer.Typer(help="One sync run.", no_args_is_help=True)
    dlq = typer.Typer(
        help="Dead letters (tds_sync_queue rows with status dead_letter).", no_args_is_help=True
    )
    app.add_typer(sync, name="sync")
    app.add_typer(run, name="run")
    app.add_typer(dlq, name="dlq")

    @app.callback()
    def options(
        typer_ctx: typer.Context,
        output: Annotated[
            Output, typer.Option("--output", "-o", help="table or json")
        ] = Output.table,
        ingest_url: Annotated[str | None, typer.Option(help="[env TDS_INGEST_URL]")] = None,
        processor_url: Annotated[str | None, typer.Option(help="[env TDS_PROCESSOR_URL]")] = None,
        bulk_sync_url: Annotated[str | None, typer.Option(help="[env TDS_BULK_SYNC_URL]")] = None,
        zoho_proxy_url: Annotated[str | None, typer.Option(help="[env ZOHO_PROXY_URL]")] = None,
        database_url: Annotated[str | None, typer.Option(help="[env DATABASE_URL]")] = None,
    ) -> None:
        """Operate TDS: syncs, runs, stats, budget, dead letters, writes, retention, doctor."""
        typer_ctx.obj = Context(
            overrides={
                "ingest_url": ingest_url,
                "processor_url": processor_url,
                "bulk_sync_url": bulk_sync_url,
                "zoho_proxy_url": zoho_proxy_url,
                "database_url": database_url,
            },
            output=output,
            transport=transport,
        )

    @sync.command("start")
    @handled
    def sync_start(
        typer_ctx: typer.Context,
        mode: Annotated[str, typer.Option(help="full, incremental or selective")] = "incremental",
        entities: Annotated[
            list[str] | None,
            typer.Option("--entities", "-e", help="Repeat or comma-separate; default all."),
        ] = None,
        org_id: Annotated[
            str | None, typer.Option(help="Default: ZOHO_ORGANIZATION_ID of bulk-sync.")
        ] = None,
        ids: Annotated[list[str] | None, typer.Option("--id", help="selective: Zoho ids.")] = None,
        follow_runs: Annotated[
            bool, typer.Option("--follow", help="Progress bars until the runs end.")
        ] = False,
        interval: Annotated[float, typer.Option(help="--follow's poll interval, seconds.")] = 1.0,
    ) -> None:
        """Start a sync (one run per entity) through bulk-sync's POST /api/zoho/bulk-sync."""
        ctx = _ctx(typer_ctx)
        names = [n.strip() for e in entities or [] for n in e.split(",") if n.strip()]
        unknown = [n for n in names if n not in ENTITIES]
        if unknown:
            raise CommandError(f"unknown entity {unknown[0]!r}; known: {', '.join(ENTITIES)}")
        body: dict[str, Any] = {"mode": mode}
        if names:
            body["entities"] = names
        if org_id:
            body["org_id"] = org_id
        if ids:
            body["ids"] = ids
        services = ctx.services()
        try:
            accepted = services.bulk_sync.post("/api/zoho/bulk-sync", body)
            runs = accepted["runs"]
            if follow_runs:
                runs = follow(
                    services, [r["id"] for r in runs], ctx.console, interval_seconds=interval
                )
        finally:
            services.close()
        ctx.emit(runs, columns=RUN_COLUMNS, title=f"request {accepted['request_id']}")
        failed = [r for r in runs if r["status"] == "failed"]
        if follow_runs and failed:
            raise CommandError(f"{len(failed)} run(s) failed: {', '.join(r['id'] for r in failed)}")

    @app.command("runs")
    @handled
    def list_runs(
        typer_ctx: typer.Context, limit: Annotated[int, typer.Option(min=1)] = 20
    ) -> None:
        """The newest sync runs."""
        runs = _api_call(typer_ctx, "bulk_sync", "GET", f"/api/zoho/sync/runs?limit={limit}")
        _ctx(typer_ctx).emit(runs, columns=RUN_COLUMNS)

    @run.command("show")
    @handled
    def run_show(typer_ctx: typer.Context, run_id: str) -> None:
        """One run: progress, checkpoint, errors."""
        _ctx(typer_ctx).emit(
            _api_call(typer_ctx, "bulk_sync", "GET", f"/api/zoho/sync/runs/{run_id}")
        )

    @run.command("cancel")
    @handled
    def run_cancel(typer_ctx: typer.Context, run_id: str) -> None:
        """Cancel a pending or running run (its rows so far stay)."""
        cancelled = _api_call(
            typer_ctx, "bulk_sync", "POST", f"/api/zoho/sync/runs/{run_id}/cancel"
        )
        _ctx(typer_ctx).emit(cancelled, columns=RUN_COLUMNS)

    @app.command("stats")
    @handled
    def stats(typer_ctx: typer.Context) -> None:
        """The processor's queue counts, backlog and sync delay."""
        _ctx(typer_ctx).emit(_api_call(typer_ctx, "processor", "GET", "/api/zoho/sync/stats"))

    @app.command("budget")
    @handled
    def budget(typer_ctx: typer.Context) -> None:
        """Zoho's limits as zoho-proxy tracks them, per organization and product."""
        data = _api_call(typer_ctx, "zoho_proxy", "GET", "/api/zoho/budget")
        ctx = _ctx(typer_ctx)
        if ctx.output is Output.json:
            ctx.emit(data)
            return
        rows = [
            {
                "organization": b["organization_id"],
                "product": b["product"],
                "minute left": f"{b['minute']['left']}/{b['minute']['limit']}",
                "day left": f"{b['day']['left']}/{b['day']['limit']}",
                "in flight": b["in_flight"]["used"],
            }
            for b in data.get("budgets", [])
        ]
        ctx.emit(rows, title=f"Zoho token: {data.get('token', {}).get('state', '?')}")

    @app.command("completeness")
    @handled
    def completeness(typer_ctx: typer.Context) -> None:
        """Mirror rows and documents still without details, per organization and entity."""
        data = _api_call(typer_ctx, "bulk_sync", "GET", "/api/zoho/sync/completeness")
        ctx = _ctx(typer_ctx)
        if ctx.output is Output.json:
            ctx.emit(data)
            return
        rows = [
            {"organization": org, "entity": entity, **counts}
            for org, entities in data.get("organizations", {}).items()
            for entity, counts in entities.items()
        ]
        ctx.emit(rows)

    @dlq.command("list")
    @handled
    def dlq_list(
        typer_ctx: typer.Context,
        entity: Annotated[str | None, typer.Option()] = None,
        org_id: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    ) -> None:
        """Dead letters, newest first (the processor's GET /api/zoho/dead-letters)."""
        params = {"entity": entity, "org_id": org_id, "limit": limit}
        services = _ctx(typer_ctx).services()
        try:
            rows = services.processor.get(
                "/api/zoho/dead-letters", **{k: v for k, v in params.items() if v is not None}
            )
        finally:
            services.close()
        _ctx(typer_ctx).emit(rows)

    @dlq.command("show")
    @handled
    def dlq_show(typer_ctx: typer.Context, queue_id: int) -> None:
        """One dead letter with its inbox event's payload and where it sits on the DLQ topic."""
        path = f"/api/zoho/dead-letters/{queue_id}"
        _ctx(typer_ctx).emit(_api_call(typer_ctx, "processor", "GET", path))

    @dlq.command("replay")
    @handled
    def dlq_replay(
        typer_ctx: typer.Context,
        entity: Annotated[str | None, typer.Option(help="Only this entity.")] = None,
        org_id: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
        record_id: Annotated[str | None, typer.Option(help="Only this Zoho record id.")] = None,
        queue_ids: Annotated[
            list[int] | None, typer.Option("--queue-id", help="Queue id(s); repeat.")
        ] = None,
        since: Annotated[
            datetime | None, typer.Option(help="Dead-lettered at or after (ISO; UTC).")
        ] = None,
        until: Annotated[datetime | None, typer.Option(help="Dead-lettered before.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
        every: Annotated[
            bool, typer.Option("--all", help="Every dead letter (no selector needed).")
        ] = False,
        dry_run: Annotated[bool, typer.Option(help="Count only; publish nothing.")] = False,
        timeout: Annotated[
            float, typer.Option(min=1, help="Seconds to wait for the processor's answer.")
        ] = 600.0,
    ) -> None:
        """Republish dead letters to the events topic (the processor's replay API).

        Replaying twice applies once: a letter already replayed is not published again."""
        body: dict[str, Any] = {
            "entity": entity,
            "org_id": org_id,
            "record_id": record_id,
            "queue_ids": queue_ids or None,
            "since": _iso(since),
            "until": _iso(until),
            "limit": limit,
            "all": every or None,
            "dry_run": dry_run,
        }
        body = {key: value for key, value in body.items() if value is not None}
        services = _ctx(typer_ctx).services()
        try:
            # A large selection takes a while: the replay goes on in the processor meanwhile.
            report = services.processor.post("/api/zoho/dead-letters/replay", body, timeout=timeout)
        finally:
            services.close()
        verb = "would replay" if dry_run else "replayed"
        _ctx(typer_ctx).emit(report, title=f"dead letters {verb}")

    @app.command("writes")
    @handled
    def writes(
        typer_ctx: typer.Context,
        write_id: Annotated[int | None, typer.Argument(help="One write, in full.")] = None,
        status: Annotated[str | None, typer.Option(help="pending, in_flight, applied, …")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
        before_id: Annotated[
            int | None, typer.Option(min=1, help="Older than this id: the next page.")
        ] = None,
    ) -> None:
        """Write-back to Zoho through bulk-sync: the newest writes, or one by id."""
        ctx = _ctx(typer_ctx)
        if write_id is not None:
            ctx.emit(_api_call(typer_ctx, "bulk_sync", "GET", f"/api/zoho/writes/{write_id}"))
            return
        params = {"status": status, "limit": limit, "before_id": before_id}
        services = ctx.services()
        try:
            page = services.bulk_sync.get(
                "/api/zoho/writes", **{k: v for k, v in params.items() if v is not None}
            )
        finally:
            services.close()
        older = page.get("next_before_id")
        ctx.emit(page["writes"], title=f"older: tds writes --before-id {older}" if older else None)

    @app.command("prune")
    @handled
    def prune_now(
        typer_ctx: typer.Context,
        timeout: Annotated[
            float, typer.Option(min=1, help="Seconds to wait for the processor's answer.")
        ] = 600.0,
    ) -> None:
        """Apply the control tables' retention now, with the processor's own ages (its API)."""
        ctx = _ctx(typer_ctx)
        services = ctx.services()
        try:
            # A large backlog takes a while; the processor deletes in small batches meanwhile.
            report = services.processor.post("/api/zoho/retention/prune", timeout=timeout)
        finally:
            services.close()
        if ctx.output is Output.json:
            ctx.emit(report)
            return
        ctx.emit(report["deleted"], title="rows deleted")
        ctx.emit(report["days"], title="ages applied (days)")

    @app.command("doctor")
    @handled
    def doctor_checks(typer_ctx: typer.Context) -> None:
        """Settings, PostgreSQL, migrations, Kafka topics, services, Zoho token: a line each."""
        ctx = _ctx(typer_ctx)
        checks = doctor.run_checks(ctx.settings, ctx.services)
        if ctx.output is Output.json:
            ctx.emit([{"check": c.name, "status": c.status, "detail": c.detail} for c in checks])
        else:
            colours = {
                doctor.Status.OK: "green",
                doctor.Status.WARN: "yellow",
                doctor.Status.FAIL: "red",
            }
            for c in checks:
                ctx.console.print(
                    f"[{colours[c.status]}]{c.status:<4}[/] {c.name:<32} {c.detail}",
                    highlight=False,
                    markup=True,
                    soft_wrap=True,
                )
        if any(c.status is doctor.Status.FAIL for c in checks):
            raise typer.Exit(1)

    return app


def _iso(moment: datetime | None) -> str | None:
    """An option's time for the API; one without a zone is UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def main() -> None:
    create_app()()
