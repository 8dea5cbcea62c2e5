"""Liveness and readiness for every service (contract: ``GET /health``, ``GET /ready``).

- ``/health`` is liveness: cheap and local. It answers ``{"status", "checks"}`` where status is
  ``healthy``, ``degraded`` (a dependency is failing but the process is fine: 200) or
  ``unhealthy`` (a local check failed, e.g. the consumer task died: 503, so Kubernetes restarts us).
- ``/ready`` runs the dependency checks (PostgreSQL, Kafka, zoho-proxy …). It turns 503 only after
  ``failure_threshold`` consecutive failures, so one slow probe does not pull a pod out of rotation;
  before the first success it is 503 too.
- Advisory checks (e.g. the topics' durability) run with the dependency checks; a failing one
  makes ``/health`` degraded and is named in both answers, but never turns ``/ready`` 503: a
  misconfiguration an operator must fix is no reason to stop serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS: Final = 3.0

Check = Callable[[], Awaitable[None]]
"""A check raises on failure; its message becomes the check's detail."""

Status = Literal["healthy", "degraded", "unhealthy"]


@dataclass
class _CheckState:
    check: Check
    consecutive_failures: int = 0
    ever_succeeded: bool = False
    detail: str = "not run yet"


@dataclass
class HealthRegistry:
    """Holds a service's liveness and readiness checks and their recent outcomes."""

    failure_threshold: int = 3
    _liveness: dict[str, Check] = field(default_factory=dict)
    _readiness: dict[str, _CheckState] = field(default_factory=dict)
    _advisory: dict[str, _CheckState] = field(default_factory=dict)

    def add_liveness(self, name: str, check: Check) -> None:
        """A local check: failing means this process should be restarted."""
        self._liveness[name] = check

    def add_readiness(self, name: str, check: Check) -> None:
        """A dependency check: failing means do not send us traffic for now."""
        self._readiness[name] = _CheckState(check)

    def add_advisory(self, name: str, check: Check) -> None:
        """A check whose failure is reported (degraded) but never makes us unready."""
        self._advisory[name] = _CheckState(check)

    async def liveness(self) -> tuple[Status, dict[str, Any]]:
        checks: dict[str, Any] = {}
        status: Status = "healthy"
        for name, check in self._liveness.items():
            error = await _run(check)
            checks[name] = "ok" if error is None else error
            if error is not None:
                status = "unhealthy"
        for name, state in self._readiness.items():
            ok = state.ever_succeeded and state.consecutive_failures == 0
            checks[name] = "ok" if ok else state.detail
            if not ok and status == "healthy":
                status = "degraded"
        for name, state in self._advisory.items():
            checks[name] = state.detail
            if state.consecutive_failures and status == "healthy":
                status = "degraded"
        return status, checks

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        states = {**self._readiness, **self._advisory}
        errors = await asyncio.gather(*(_run(state.check) for state in states.values()))
        checks: dict[str, Any] = {}
        ready = True
        for (name, state), error in zip(states.items(), errors, strict=True):
            if error is None:
                state.consecutive_failures = 0
                state.ever_succeeded = True
                state.detail = "ok"
            else:
                state.consecutive_failures += 1
                state.detail = error
                failing = not state.ever_succeeded or (
                    state.consecutive_failures >= self.failure_threshold
                )
                if failing and name in self._readiness:
                    ready = False
            checks[name] = state.detail
        return ready, checks


async def _run(check: Check) -> str | None:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failing check is data, not a crash
        return f"{type(exc).__name__}: {exc}"[:256] or type(exc).__name__
    return None


def health_router(registry: HealthRegistry) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health")
    async def health() -> JSONResponse:
        """Liveness: healthy, degraded (a dependency is failing) or unhealthy (503)."""
        status, checks = await registry.liveness()
        code = 503 if status == "unhealthy" else 200
        return JSONResponse({"status": status, "checks": checks}, status_code=code)

    @router.get("/ready")
    async def ready() -> JSONResponse:
        """Readiness: 200 when dependencies answer, 503 after repeated failures."""
        ok, checks = await registry.readiness()
        body = {"status": "ready" if ok else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
