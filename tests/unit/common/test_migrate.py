"""How the migration runner passes its timeouts to PostgreSQL (libpq ``options``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from tds_common.migrate import MigrationSettings, with_timeouts

SETTINGS = MigrationSettings(lock_timeout_seconds=1.5, statement_timeout_seconds=60)


def _options(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query)["options"]


def test_both_timeouts_go_into_the_session_options() -> None:
    url = with_timeouts("postgresql+psycopg://u:p%40ss@db:5432/tds", SETTINGS)
    assert _options(url) == ["-c lock_timeout=1500 -c statement_timeout=60000"]
    assert urlsplit(url).netloc == "u:p%40ss@db:5432"  # credentials untouched


def test_existing_query_and_options_are_kept() -> None:
    url = with_timeouts(
        "postgresql+psycopg://db/tds?sslmode=require&options=-c%20search_path%3Dx", SETTINGS
    )
    query = parse_qs(urlsplit(url).query)
    assert query["sslmode"] == ["require"]
    assert query["options"] == ["-c search_path=x -c lock_timeout=1500 -c statement_timeout=60000"]


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        MigrationSettings(lock_timeout_seconds=0)
