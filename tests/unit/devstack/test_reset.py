"""``make reset``: the local stack's data is deleted, its tools kept, never under a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import postgres, stack


@pytest.fixture(name="state")
def fixture_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A state folder with data and tools in it, and nothing running."""
    monkeypatch.setenv("TDS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("TDS_PG_SERVER_ROOT", str(tmp_path / "pg-root"))
    monkeypatch.setattr(stack, "stop_all", lambda: [])
    cluster = postgres.PostgresConfig().home  # under the server root when run as root
    for folder in (cluster, *(tmp_path / f for f in ("kafka/data", "kafka/libs", "logs", "bin"))):
        folder.mkdir(parents=True)
        (folder / "file").write_text("x")
    return tmp_path


def test_data_goes_and_tools_stay(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "status", lambda: [("kafka", None, 9092, False)])
    removed = stack.reset()
    assert not (state / "kafka" / "data").exists()
    assert not postgres.PostgresConfig().home.exists()
    assert not (state / "logs").exists()
    assert (state / "kafka" / "libs" / "file").exists() and (state / "bin" / "file").exists()
    assert state / "kafka" / "data" in removed


def test_nothing_is_removed_while_a_component_answers(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack, "status", lambda: [("kafka", 4242, 9092, True)])
    with pytest.raises(RuntimeError, match="still answering: kafka"):
        stack.reset()
    assert (state / "kafka" / "data" / "file").exists() and (state / "logs" / "file").exists()
