"""Output: rich tables for people, ``--output json`` for scripts (the API's data unchanged)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class Output(StrEnum):
    table = "table"
    json = "json"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def emit(
    console: Console,
    data: Any,
    output: Output,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Rows (a list of dicts) as a table of ``columns``; a dict as field/value lines."""
    if output is Output.json:
        console.print_json(json.dumps(data, default=str))
        return
    if isinstance(data, list):
        keys = list(columns or (data[0].keys() if data else []))
        table = Table(*keys, title=title)
        for row in data:
            table.add_row(*(_cell(row.get(key)) for key in keys))
        console.print(table)
        return
    table = Table("field", "value", title=title, show_header=False)
    for key, value in data.items():
        if columns is None or key in columns:
            table.add_row(key, _cell(value))
    console.print(table)
