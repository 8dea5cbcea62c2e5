"""bulk-sync reads the mirror tables through tds_common.mirror, which owns their names, columns
and keys, instead of SQL of its own. Its own tables (runs, seen ids, outbox) it may spell."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

import bulk_sync
from tds_common.catalogue import ENTITIES

PACKAGE: Final = Path(bulk_sync.__file__).parent
MIRROR_TABLES: Final = sorted(
    {spec.table for spec in ENTITIES.values()}
    | {spec.child.table for spec in ENTITIES.values() if spec.child is not None}
)
MIRROR_COLUMNS: Final = ("zoho_last_modified_time", "synced_at", "deleted_at")
"""Columns every mirror table has and no bulk-sync table does."""


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_sql_against_mirror_tables(path: Path) -> None:
    source = path.read_text()
    assert [t for t in MIRROR_TABLES if t in source] == []
    assert [c for c in MIRROR_COLUMNS if c in source] == []
    assert "spec.table" not in source


def test_the_check_sees_every_module() -> None:
    names = {str(p.relative_to(PACKAGE)) for p in _sources()}
    assert {"verify.py", "details.py", "completeness.py", "stock_refresh.py"} <= names
    assert "writeback/store.py" in names
