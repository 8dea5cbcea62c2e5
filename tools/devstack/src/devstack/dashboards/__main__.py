"""``python -m devstack.dashboards [--check]``: write the chart's dashboards, or check them."""

from __future__ import annotations

import typer

from devstack.dashboards.render import dashboards_dir, differences, write


def main(
    check: bool = typer.Option(False, help="Fail if the committed files differ; write nothing."),
) -> None:
    directory = dashboards_dir()
    if check:
        stale = differences(directory)
        if stale:
            print(f"dashboards differ from the code: {', '.join(stale)}; run make dashboards")
            raise typer.Exit(1)
        print(f"dashboards match the code ({directory})")
        return
    print(f"wrote {', '.join(write(directory))} in {directory}")


if __name__ == "__main__":
    typer.run(main)
