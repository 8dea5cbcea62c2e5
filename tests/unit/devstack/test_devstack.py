"""The local stack's own logic: configuration precedence and the make run summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from devstack import stack
from devstack.demo import _budget_table


def test_env_file_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env.example").write_text("A=example\nB=example\nC=example\n")
    (tmp_path / ".env").write_text("B=dotenv\nC=dotenv\n")
    monkeypatch.setenv("TDS_REPO_ROOT", str(tmp_path))
    monkeypatch.setenv("C", "process")
    env = stack.stack_env()
    assert (env["A"], env["B"], env["C"]) == ("example", "dotenv", "process")


def test_budget_summary_shows_the_busiest_window_and_429s() -> None:
    counters = {
        "budgets": {
            "60000000001": {
                "books": {
                    "calls": 356,
                    "window_seconds": 60.0,
                    "peak_window_calls": 100,
                    "in_flight_peak": 1,
                    "in_flight_limit": 10,
                    "daily_used": 356,
                    "daily_quota": 5000,
                    "throttled": {"44": 2},
                },
            }
        }
    }
    console = Console(record=True, width=120)
    console.print(_budget_table(counters))
    text = console.export_text()
    assert "60000000001 books" in text
    assert "100/60s" in text
    assert "356/5000" in text
    assert text.rstrip().splitlines()[-2].rstrip("│ ").endswith("2")


def test_unbuilt_service_is_reported_not_started() -> None:
    component = stack.Component("ghost", "no_such_package_anywhere", 1)
    assert component.built is False
