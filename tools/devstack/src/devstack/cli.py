"""``python -m devstack``: install, start, stop and inspect the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from devstack import demo, images, kafka, kube, postgres, stack

app = typer.Typer(help="TDS local stack (real Kafka, real PostgreSQL, simulator, services).")
console = Console()


@app.command()
def install() -> None:
    """Fetch and cache what the stack needs (Kafka jars; PostgreSQL comes with uv sync)."""
    fetched = kafka.fetch(kafka.KafkaConfig())
    console.print(f"kafka jars: {'fetched' if fetched else 'cached'}")
    bin_dir = postgres.embedded_bin_dir()
    if not (bin_dir / "postgres").exists():
        console.print(f"[red]PostgreSQL binaries missing at {bin_dir}[/]")
        raise typer.Exit(1)
    console.print(f"postgresql: {bin_dir}")


@app.command()
def up(
    infra_only: Annotated[bool, typer.Option(help="Only PostgreSQL and Kafka.")] = False,
) -> None:
    """Start the stack in the background (idempotent)."""
    with console.status("starting PostgreSQL and Kafka…"):
        started = stack.start_infra()
    for name, was_started in started.items():
        console.print(f"{name}: {'started' if was_started else 'already up'}")
    if infra_only:
        return
    # Before the services: they export spans to it only when it runs as they start.
    with console.status("starting Jaeger…"):
        console.print(f"jaeger: {stack.start_jaeger()}")
    with console.status("starting the simulator and the services…"):
        states = stack.start_apps()
    for name, state in states.items():
        console.print(f"{name}: {state}")
    with console.status("starting Prometheus…"):
        console.print(f"prometheus: {stack.start_prometheus()}")


@app.command()
def down() -> None:
    """Stop only what ``up`` started."""
    stopped = stack.stop_all()
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command()
def reset() -> None:
    """Stop the stack and delete its data (database, topics, metrics, traces, logs)."""
    try:
        removed = stack.reset()
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"removed: {', '.join(map(str, removed)) if removed else 'nothing to remove'}")
    console.print("make up starts an empty stack (database migrated, topics created)")


@app.command()
def status() -> None:
    """Show each component: tracked pid, port and whether it answers."""
    table = Table("component", "pid", "port", "state")
    for name, pid, port, answering in stack.status():
        state = "[green]up[/]" if answering else "[red]down[/]"
        if answering and pid is None:
            state = "[yellow]up (not started by make up)[/]"
        table.add_row(name, str(pid or "-"), str(port), state)
    console.print(table)


@app.command("pg")
def pg_command(
    action: Annotated[str, typer.Argument(help="start | stop")],
    bin_dir: Annotated[
        Path | None, typer.Option(help="PostgreSQL bin dir (default: the embedded wheel).")
    ] = None,
    port: Annotated[int, typer.Option()] = 55432,
    name: Annotated[str, typer.Option(help="State folder and pid name.")] = "postgres",
) -> None:
    """Start or stop a PostgreSQL server alone (``make test-pg15`` uses Debian's 15)."""
    config = postgres.PostgresConfig(
        port=port, bin_dir=bin_dir or postgres.embedded_bin_dir(), name=name
    )
    if action == "start":
        postgres.start(config)
        console.print(config.url())
    elif action == "stop":
        postgres.stop(config)
    else:
        raise typer.BadParameter("action must be start or stop")


@app.command("kube")
def kube_command(
    action: Annotated[str, typer.Argument(help="start | stop")],
) -> None:
    """Start or stop the local Kubernetes control plane (it starts empty each time)."""
    config = kube.KubeConfig()
    if action == "start":
        started = kube.start(config)
        console.print(f"{'started' if started else 'already up'}: KUBECONFIG={config.kubeconfig}")
    elif action == "stop":
        kube.stop()
    else:
        raise typer.BadParameter("action must be start or stop")


@app.command("images")
def images_command(
    only: Annotated[
        list[str] | None, typer.Option(help="Build only these images (e.g. tds-ingest).")
    ] = None,
) -> None:
    """Build the images with buildah (no Docker engine) on a Debian-built base, and run each."""
    images.require_tools()
    with console.status(f"base image {images.BASE_IMAGE} (debootstrap the first time)…"):
        console.print(f"{images.BASE_IMAGE}: {'built' if images.build_base() else 'cached'}")
    chosen = [i for i in images.skaffold_images() if not only or i.name in only]
    if not chosen:
        raise typer.BadParameter(f"no image named {', '.join(only or [])} in skaffold.yaml")
    for image in chosen:
        console.print(f"[bold]building {image.tag}[/]")
        images.build(image)
        console.print(images.smoke_test(image))


@app.command()
def run(
    rounds: Annotated[int, typer.Option(help="Edits per entity in the webhook stream.")] = 5,
) -> None:
    """The main job: full sync, then a webhook stream, then a summary (expects ``up``)."""
    raise typer.Exit(demo.run(rounds))
