"""bulk-sync's listing and sweep read the mirror tables through tds_common.mirror, which owns
their columns and keys, instead of SQL of their own."""

from __future__ import annotations

import inspect

import pytest

from bulk_sync import stored, sweep


@pytest.mark.parametrize("module", [stored, sweep], ids=lambda m: m.__name__)
def test_no_sql_against_mirror_tables(module: object) -> None:
    source = inspect.getsource(module)  # type: ignore[arg-type]
    assert "spec.table" not in source
    assert "zoho_last_modified_time" not in source
