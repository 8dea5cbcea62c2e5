"""Credential problems degrade /health without making the proxy unready."""

from __future__ import annotations

from zoho_proxy.health import ProxyHealthRegistry


async def _ok() -> None:
    return None


async def test_a_failing_condition_degrades_liveness_but_not_readiness() -> None:
    problem: list[str | None] = [None]
    registry = ProxyHealthRegistry()
    registry.add_readiness("postgres", _ok)
    registry.add_condition("zoho_token", lambda: problem[0])
    assert (await registry.readiness())[0] is True
    assert await registry.liveness() == ("healthy", {"postgres": "ok", "zoho_token": "ok"})
    problem[0] = "locked_out: access_denied"
    status, checks = await registry.liveness()
    assert status == "degraded"
    assert checks["zoho_token"] == "locked_out: access_denied"
    assert (await registry.readiness())[0] is True
