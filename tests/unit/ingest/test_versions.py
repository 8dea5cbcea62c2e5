"""A last_modified_time far in the future is refused with 422 and never published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ingest.app import create_app
from ingest.settings import Settings
from tds_common.events import format_zoho_timestamp
from tds_common.versions import DEFAULT_MAX_VERSION_SKEW_SECONDS
from tests.unit.ingest.test_app import TOKEN, FakePublisher


@pytest.fixture(name="publisher")
def fixture_publisher() -> FakePublisher:
    return FakePublisher()


async def _post(
    publisher: FakePublisher, ahead: timedelta, skew: float = DEFAULT_MAX_VERSION_SKEW_SECONDS
) -> httpx.Response:
    settings = Settings(
        webhook_secrets=[TOKEN], zoho_organization_id="60000000001", max_version_skew_seconds=skew
    )
    app = create_app(settings, publisher=publisher)
    stamp = format_zoho_timestamp(datetime.now(UTC) + ahead)
    record = {"item_id": "4600000000012345", "name": "Widget", "last_modified_time": stamp}
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            return await client.post(
                "/api/zoho/webhooks/products",
                json={"item": record},
                headers={"X-TDS-Webhook-Token": TOKEN},
            )


async def test_a_version_years_ahead_is_refused_and_never_published(
    publisher: FakePublisher,
) -> None:
    response = await _post(publisher, timedelta(days=3 * 365))
    assert response.status_code == 422, response.text
    assert "last_modified_time" in response.text and "future" in response.text
    assert publisher.published == []


async def test_clock_skew_within_the_allowance_is_accepted(publisher: FakePublisher) -> None:
    assert (await _post(publisher, timedelta(hours=2))).status_code == 202
    assert len(publisher.published) == 1


async def test_the_allowance_is_configurable(publisher: FakePublisher) -> None:
    response = await _post(publisher, timedelta(hours=2), skew=600)
    assert response.status_code == 422
    assert publisher.published == []
