"""Entry point: ``python -m processor`` runs the service.

``python -m processor replay`` re-publishes dead letters (``--help`` for the selectors).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

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
    queue_id: Annotated[
        list[int] | None, typer.Option(help="tds_sync_queue id(s) of the dead letters.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only letters dead-lettered at or after (ISO).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    all_letters: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter (no selector needed).")
    ] = False,
    include_resolved: Annotated[
        bool, typer.Option(help="Also letters whose queue row is no longer dead_letter.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="List what would be replayed; publish nothing.")
    ] = False,
) -> None:
    """Re-publish selected dead letters from the DLQ topic to the events topic."""
    if not (entity or org or queue_id or since or all_letters):
        raise typer.BadParameter(
            "choose dead letters with --entity/--org/--queue-id/--since, or --all"
        )
    settings = Settings()
    configure_logging(settings.log_level, json_format=settings.log_json)
    if since is not None and since.tzinfo is None:
        from datetime import UTC

        since = since.replace(tzinfo=UTC)
    selection = Selection(entity, org, frozenset(queue_id or ()), since, limit, include_resolved)
    chosen = asyncio.run(replay(settings, selection, dry_run=dry_run))
    verb = "would replay" if dry_run else "replayed"
    typer.echo(f"{verb} {len(chosen)} dead letter(s)")
    for letter in chosen:
        h = letter.headers
        typer.echo(f"  queue_id={letter.queue_id} entity={h.get('tds-entity')} "
                   f"error={h.get('tds-error', '')[:120]!r}")  # fmt: skip


if __name__ == "__main__":
    cli()
