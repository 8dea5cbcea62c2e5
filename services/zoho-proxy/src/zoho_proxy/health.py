"""Health of the proxy: the shared registry plus the Zoho credential's state.

A lockout or a revoked refresh token makes ``/health`` say ``degraded`` with the reason, but
leaves ``/ready`` alone: a ready proxy answers callers with a clear 503 and Retry-After, while an
unready one would vanish from the Service and leave them guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tds_common.health import HealthRegistry, Status

Condition = Callable[[], str | None]
"""Returns ``None`` when fine, else a short description of what is wrong."""


@dataclass
class ProxyHealthRegistry(HealthRegistry):
    """A :class:`HealthRegistry` that also reports conditions that degrade but don't unready."""

    _conditions: dict[str, Condition] = field(default_factory=dict)

    def add_condition(self, name: str, condition: Condition) -> None:
        self._conditions[name] = condition

    async def liveness(self) -> tuple[Status, dict[str, Any]]:
        status, checks = await super().liveness()
        for name, condition in self._conditions.items():
            problem = condition()
            checks[name] = "ok" if problem is None else problem
            if problem is not None and status == "healthy":
                status = "degraded"
        return status, checks
