"""Entry point: ``python -m processor`` runs the service.

``python -m processor replay`` re-publishes dead letters (``--help`` for the selectors).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from processor.app import create_app
from processor.replay import Selection, replay
from processor.settings import Settings
from tds_common.logging import configure_logging
from tds_common.server import serve

cli = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)


@cli.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Run the processor (the default) or one of its commands."""
    if ctx.invoked_subcommand is None:
        run()


@cli.command("serve")
def run() -> None:
    """Consume tds.zoho.events into the mirror and serve /health, /ready, /metrics, stats."""
    settings = Settings()
    serve(create_app(settings), settings, component="processor")


@cli.command("replay")
def replay_command(
    entity: Annotated[str | None, typer.Option(help="Only this entity (e.g. invoices).")] = None,
    org: Annotated[str | None, typer.Option(help="Only this organization id.")] = None,
    record_id: Annotated[str | None, typer.Option(help="Only this Zoho record id.")] = None,
    queue_id: Annotated[
        list[int] | None, typer.Option(help="tds_sync_queue id(s) of the dead letters.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only letters dead-lettered at or after (ISO; UTC).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Only letters dead-lettered before (ISO; UTC).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    all_letters: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter (no selector needed).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Count what would be replayed; publish nothing.")
    ] = False,
) -> None:
    """Re-publish selected dead letters from the DLQ topic to the events topic.

    The same as the processor's POST /api/zoho/dead-letters/replay (and `tds dlq replay`), run
    from here with the processor's settings."""
    try:
        selection = Selection(
            entity=entity,
            org_id=org,
            record_id=record_id,
            queue_ids=frozenset(queue_id or ()),
            since=_utc(since),
            until=_utc(until),
            limit=limit,
            every=all_letters,
        )
    except ValidationError as exc:
        raise typer.BadParameter(
            "; ".join(e["msg"] for e in exc.errors()) + " (selectors: --entity/--org/"
            "--record-id/--queue-id/--since/--until, or --all)"
        ) from None
    settings = Settings()
    configure_logging(settings.log_level, json_format=settings.log_json)
    report = asyncio.run(replay(settings, selection, dry_run=dry_run))
    verb = "would replay" if dry_run else "replayed"
    typer.echo(
        f"{verb} {report.replayed} of {report.selected} dead letter(s); "
        f"{report.missing} no longer on the topic, {report.taken} taken meanwhile"
    )
    if report.missing_queue_ids:
        typer.echo(f"missing: {', '.join(map(str, report.missing_queue_ids))}")


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


if __name__ == "__main__":
    cli()
