"""Faults injected on demand through ``/_sim/faults``: 5xx, latency, 429 storms, held requests,
failing token endpoint and dropped webhooks.

Counted faults (``fail_next``, ``throttle_next`` …) are deterministic and what tests should use;
rates draw from a generator seeded by the dataset seed, so a run is repeatable too.
"""

from __future__ import annotations

import asyncio
import random
from typing import Literal

from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    """The faults in force; every field is optional in ``PUT /_sim/faults`` (merged)."""

    model_config = {"extra": "forbid"}

    error_rate: float = Field(0.0, ge=0, le=1)
    """Share of admitted API calls answered with ``error_status``."""
    error_status: int = Field(500, ge=500, le=599)
    fail_next: int = Field(0, ge=0)
    """The next N admitted API calls fail with ``error_status``."""
    latency_seconds: float = Field(0.0, ge=0, le=120)
    """Added to every admitted API call (while it counts as in flight)."""
    throttle_next: int = Field(0, ge=0)
    """429 storm: the next N API calls are rejected with ``throttle_code``."""
    throttle_code: Literal[44, 45, 1070] = 44
    token_fail_next: int = Field(0, ge=0)
    """The next N token-endpoint calls answer HTTP 500."""
    drop_webhooks_next: int = Field(0, ge=0)
    """The next N webhook deliveries are silently not sent."""
    drop_webhook_rate: float = Field(0.0, ge=0, le=1)
    hold: bool = False
    """Admitted API calls wait (in flight) until ``POST /_sim/faults/release``."""


class Faults:
    """The live fault state and the decisions drawn from it."""

    def __init__(self, seed: int) -> None:
        self.config = FaultConfig()
        self._rng = random.Random(seed)
        self._released = asyncio.Event()
        self._released.set()

    def update(self, changes: dict[str, object]) -> FaultConfig:
        merged = {**self.config.model_dump(), **changes}
        self.config = FaultConfig.model_validate(merged)
        if self.config.hold:
            self._released.clear()
        else:
            self._released.set()
        return self.config

    def clear(self) -> None:
        self.update(FaultConfig().model_dump())

    def release(self) -> None:
        self.update({"hold": False})

    async def wait_if_held(self) -> None:
        await self._released.wait()

    def take_throttle(self) -> int | None:
        if self.config.throttle_next > 0:
            self.config.throttle_next -= 1
            return self.config.throttle_code
        return None

    def take_error(self) -> int | None:
        if self.config.fail_next > 0:
            self.config.fail_next -= 1
            return self.config.error_status
        if self.config.error_rate and self._rng.random() < self.config.error_rate:
            return self.config.error_status
        return None

    def take_token_failure(self) -> bool:
        if self.config.token_fail_next > 0:
            self.config.token_fail_next -= 1
            return True
        return False

    def take_webhook_drop(self) -> bool:
        if self.config.drop_webhooks_next > 0:
            self.config.drop_webhooks_next -= 1
            return True
        return bool(self.config.drop_webhook_rate) and (
            self._rng.random() < self.config.drop_webhook_rate
        )
