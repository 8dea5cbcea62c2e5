"""A sender that goes away mid-body, against the real server (uvicorn) and broker.

Zoho, a proxy or a scanner may close the connection before the body is complete. That is the
sender's doing: it is counted as 499 ``client_disconnected`` and logged below ERROR, never as a
500, and nothing is published.
"""

from __future__ import annotations

import logging
import socket

import pytest
from prometheus_client import REGISTRY

from ingest.app import create_app
from tds_common.settings import TopicSettings
from tests.integration.ingest.conftest import TOKEN, live_server, make_settings, read_topic
from tests.utils.polling import wait_until

pytestmark = pytest.mark.integration


def _counted(status: str, reason: str) -> float:
    labels = {"entity": "invoices", "status_code": status, "reason": reason}
    return REGISTRY.get_sample_value("tds_ingest_webhooks_total", labels) or 0.0


async def test_a_sender_that_disconnects_mid_body_is_499_not_500(
    kafka_bootstrap: str, topics: TopicSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = {
        reason: _counted(status, reason)
        for status, reason in (("499", "client_disconnected"), ("500", "internal_error"))
    }
    app = create_app(make_settings(kafka_bootstrap, topics))
    with live_server(app) as live:
        host, port = live.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /api/zoho/webhooks/invoices HTTP/1.1\r\nHost: ingest\r\n"
                + f"X-TDS-Webhook-Token: {TOKEN}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                + b'{"invoice": {"invoice_id": "1", "last_modified_time": "2026-06-'
            )
        await wait_until(
            lambda: _counted("499", "client_disconnected") > before["client_disconnected"],
            what="the disconnect to be counted",
        )

    assert _counted("500", "internal_error") == before["internal_error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert await read_topic(kafka_bootstrap, topics.events) == []
