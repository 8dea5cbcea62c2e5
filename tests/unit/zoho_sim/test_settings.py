from __future__ import annotations

import pytest
from pydantic import ValidationError

from zoho_sim.settings import SimSettings


def test_env_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_SIM_PORT", "9999")
    monkeypatch.setenv("ZOHO_SIM_LIMITS__PER_MINUTE", "7")
    monkeypatch.setenv("ZOHO_SIM_SCALE", '{"items": 50000}')
    monkeypatch.setenv("ZOHO_SIM_WEBHOOKS__HEADERS", '{"X-TDS-Webhook-Token": "s"}')
    monkeypatch.setenv("ZOHO_SIM_WEBHOOKS__URL_TEMPLATE", "http://h/{entity}")
    settings = SimSettings()
    assert (settings.port, settings.limits.per_minute) == (9999, 7)
    assert settings.scale_of("items") == 50000 and settings.scale_of("contacts") == 2000
    assert settings.default_org_id == "60000000001"
    assert settings.webhooks.headers == {"X-TDS-Webhook-Token": "s"}
    assert settings.webhooks.url_template == "http://h/{entity}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scale": {"widgets": 3}}, "unknown scale keys"),
        ({"organizations": []}, "at least one organization"),
        (
            {"organizations": [{"organization_id": "600001"}, {"organization_id": "600001"}]},
            "must be unique",
        ),
        ({"organizations": [{"utc_offset": "EST"}]}, "utc_offset"),
        ({"webhooks": {"url_template": "http://h/{entity_name}"}}, "bad url_template"),
        ({"webhooks": {"url_template": "ftp://h/{entity}"}}, "http"),
    ],
)
def test_bad_settings_fail_clearly(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimSettings.model_validate(overrides)
