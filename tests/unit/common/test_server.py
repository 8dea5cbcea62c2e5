"""How a service's process is served: uvicorn's fast loop and parser, startup objects frozen."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from fastapi import FastAPI

from tds_common import server
from tds_common.settings import ServiceSettings


def test_serve_runs_uvloop_and_httptools_with_the_startup_objects_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def run(app: FastAPI, **options: Any) -> None:
        seen.update(options, frozen=gc.get_freeze_count())

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setattr(server, "configure_logging", lambda *a, **k: None)
    monkeypatch.setattr(server, "configure_tracing", lambda component: None)
    app = FastAPI()
    gc.unfreeze()
    try:
        server.serve(app, ServiceSettings(metrics_port=None), component="test")
    finally:
        gc.unfreeze()  # this test process goes on creating and dropping apps
    # Named, so a missing package fails at start instead of falling back to asyncio and h11.
    assert (seen["loop"], seen["http"]) == ("uvloop", "httptools")
    assert seen["proxy_headers"] is False
    # The app and everything imported so far sit in the permanent generation, out of the
    # collector's full passes (each walked them all, with the event loop stopped).
    assert seen["frozen"] > 10_000
