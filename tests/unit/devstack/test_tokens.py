"""The local stack's service tokens: generated once, private, and wired caller to callee."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from devstack import stack
from devstack.demo import webhook_token
from devstack.tokens import service_token_env, tokens_path


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_STATE_DIR", str(tmp_path / "state"))


def test_tokens_are_generated_once_privately_and_kept() -> None:
    """The file holds the settings themselves, so tds (env_file) reads TDS_API_TOKEN from it."""
    first = service_token_env()
    assert stat.S_IMODE(tokens_path().stat().st_mode) == 0o600
    assert service_token_env() == first
    callers = ("PROCESSOR_PROXY__TOKEN", "BULK_SYNC_PROXY__TOKEN", "TDS_API_TOKEN")
    assert len({first[name] for name in callers}) == len(callers)  # one token per caller


def test_each_caller_sends_a_token_its_callee_accepts() -> None:
    env = service_token_env()
    readers = env["ZOHO_PROXY_CLIENT_TOKENS"].split(",")
    writers = env["ZOHO_PROXY_WRITER_TOKENS"].split(",")
    assert env["PROCESSOR_PROXY__TOKEN"] in readers and env["PROCESSOR_PROXY__TOKEN"] not in writers
    assert env["BULK_SYNC_PROXY__TOKEN"] in writers
    assert env["TDS_API_TOKEN"] in readers  # tds budget
    assert env["TDS_API_TOKEN"] in env["PROCESSOR_API_TOKENS"].split(",")
    assert env["BULK_SYNC_API_TOKEN"] in env["BULK_SYNC_API_TOKENS"].split(",")


def test_dotenv_and_the_environment_override_generated_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env.example").write_text("PROCESSOR_API_TOKENS=from-example\n")
    (tmp_path / ".env").write_text("BULK_SYNC_API_TOKENS=from-dotenv\n")
    monkeypatch.setenv("TDS_REPO_ROOT", str(tmp_path))
    monkeypatch.setenv("TDS_API_TOKEN", "from-process")
    env = stack.stack_env()
    assert env["PROCESSOR_API_TOKENS"] == service_token_env()["PROCESSOR_API_TOKENS"]
    assert env["BULK_SYNC_API_TOKENS"] == "from-dotenv"
    assert env["TDS_API_TOKEN"] == "from-process"


@pytest.mark.parametrize(
    ("secrets", "org", "token"),
    [
        ("first-token-0001, second-token-002", "60000000001", "first-token-0001"),
        (
            '{"60000000002": ["other-org-token"], "60000000001": ["demo-org-token", "x"]}',
            "60000000001",
            "demo-org-token",
        ),
        ('{"60000000002": "only-org-token,y"}', "60000000001", "only-org-token"),
    ],
)
def test_the_demo_sends_a_webhook_token_of_its_organization(
    secrets: str, org: str, token: str
) -> None:
    assert webhook_token({"WEBHOOK_SECRETS": secrets, "ZOHO_ORGANIZATION_ID": org}) == token
