"""``make reset``: the local stack's data is deleted, its tools kept, never under a live server."""

from __future__ import annotations

import fcntl
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


def test_nothing_is_stopped_or_removed_while_a_test_session_runs(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[bool] = []

    def stop_all() -> list[str]:
        stopped.append(True)
        return []

    monkeypatch.setattr(stack, "stop_all", stop_all)
    with (state / stack.STACK_USERS_LOCK).open("a") as session:
        fcntl.flock(session, fcntl.LOCK_SH)  # what every pytest session holds while it runs
        with pytest.raises(RuntimeError, match="a test session is using the stack"):
            stack.reset()
    assert stopped == [] and (state / "kafka" / "data" / "file").exists()
