"""The catalogue is the code form of docs/architecture.md's "Entities" and "Mirror tables"."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from tds_common.catalogue import ENTITIES

ARCHITECTURE: Final = Path(__file__).parents[3] / "docs" / "architecture.md"


def _section_rows(title: str) -> list[list[str]]:
    """The table rows (cells without backticks) under the heading ``<title>``, up to the next."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    heading = re.search(rf"^#+ {re.escape(title)}$", text, re.MULTILINE)
    assert heading is not None, title
    section = re.split(r"^#", text[heading.end() :], maxsplit=1, flags=re.MULTILINE)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip().replace("`", "") for cell in line.strip("|").split("|")])
    return rows


def test_every_entity_is_documented_as_the_catalogue_states_it() -> None:
    documented = {row[0]: row for row in _section_rows("Entities")}
    assert set(documented) == set(ENTITIES)
    for name, spec in ENTITIES.items():
        _, keys, id_field, _, tables, webhooks = documented[name]
        assert keys.startswith(f"{spec.module_key} / {spec.list_key}"), name
        assert id_field.startswith(spec.id_field), name
        assert tables.split(", ") == list(spec.tables), name
        assert webhooks.startswith("yes" if spec.webhook else "no"), name


def test_every_mirror_table_lists_the_catalogues_typed_columns() -> None:
    rows = _section_rows("Mirror tables")
    documented = {r[0]: r[2].split(" (")[0].split(", ") for r in rows if r[0].startswith("zoho.")}
    expected = {}
    for spec in ENTITIES.values():
        expected[spec.table] = [c.name for c in spec.columns]
        if spec.child:
            expected[spec.child.table] = [c.name for c in spec.child.columns]
    assert set(documented) == set(expected)
    for table, names in expected.items():
        assert sorted(documented[table]) == sorted(names), table
