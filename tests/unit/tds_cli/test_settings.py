"""Where tds finds its bearer token: the environment, .env, or what make up generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from tds_cli.settings import LOCAL_TOKENS_FILE, CliSettings


@pytest.fixture(autouse=True)
def _in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TDS_API_TOKEN", raising=False)
    (tmp_path / LOCAL_TOKENS_FILE).parent.mkdir()
    (tmp_path / LOCAL_TOKENS_FILE).write_text(
        "ZOHO_PROXY_CLIENT_TOKENS=a,b\nTDS_API_TOKEN=generated-by-make-up-0123456789\n"
    )


def _token() -> str:
    token = CliSettings().api_token
    assert token is not None
    return token.get_secret_value()


def test_the_token_make_up_generated_is_found_from_the_repository() -> None:
    assert _token() == "generated-by-make-up-0123456789"


def test_dotenv_and_the_environment_win_over_the_generated_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("TDS_API_TOKEN=from-dotenv-0123456789abcdef\n")
    assert _token() == "from-dotenv-0123456789abcdef"
    monkeypatch.setenv("TDS_API_TOKEN", "from-the-environment-0123456789")
    assert _token() == "from-the-environment-0123456789"
