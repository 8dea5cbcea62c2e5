"""Every service reaches its process state one way: a typed state object that the app factory puts
on ``app.state``, read only by the service's ``api/deps.py`` (FastAPI dependencies)."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
PACKAGES = {
    "ingest": "ingest",
    "processor": "processor",
    "bulk-sync": "bulk_sync",
    "zoho-proxy": "zoho_proxy",
}


@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_the_http_layer_is_an_api_package_with_routes_and_deps(service: str) -> None:
    api = SERVICES / service / "src" / PACKAGES[service] / "api"
    assert (api / "__init__.py").is_file()
    deps = (api / "deps.py").read_text(encoding="utf-8")
    assert "StateDep = Annotated[" in deps


@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_only_the_app_factory_and_deps_touch_app_state(service: str) -> None:
    package = SERVICES / service / "src" / PACKAGES[service]
    allowed = {package / "app.py", package / "api" / "deps.py"}
    reaching = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path not in allowed and "app.state" in path.read_text(encoding="utf-8")
    ]
    assert reaching == []
