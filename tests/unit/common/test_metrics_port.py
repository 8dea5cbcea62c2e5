"""The metrics port of its own: /metrics there, and nothing else of the API."""

from __future__ import annotations

import httpx

from tds_common.server import start_metrics_server
from tds_common.settings import ServiceSettings
from tests.conftest import free_port


def test_metrics_are_served_on_their_own_port_when_one_is_set() -> None:
    port = free_port()
    server = start_metrics_server(ServiceSettings(host="127.0.0.1", metrics_port=port))
    assert server is not None
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert answer.status_code == 200
        assert "python_info" in answer.text  # the default registry every service fills
    finally:
        server.shutdown()
        server.server_close()


def test_no_metrics_port_starts_no_server() -> None:
    assert start_metrics_server(ServiceSettings(metrics_port=None)) is None
