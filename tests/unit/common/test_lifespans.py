"""Every service's lifespan closes what it opened: on a failed start, on cancellation, on stop.

The databases and brokers are fakes: what is checked is the order of opening and closing, which
the lifespans' exit stacks own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import bulk_sync.app
import processor.app
import zoho_proxy.app
from bulk_sync.settings import Settings as BulkSyncSettings
from processor.settings import Settings as ProcessorSettings
from tests.unit.zoho_proxy.conftest import make_settings as proxy_settings


class FakePool:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class StartFailed(RuntimeError):
    """The fake failing step of a start."""


def fail(*args: Any, **kwargs: Any) -> Any:
    raise StartFailed("the step after the pool failed")


def opens(pool: FakePool) -> Any:
    async def create(*args: Any, **kwargs: Any) -> FakePool:
        return pool

    return create


async def start(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pytest.fail("the start should have failed")  # pragma: no cover


async def test_processor_closes_the_pool_when_a_later_step_of_its_start_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = FakePool()
    monkeypatch.setattr(processor.app, "create_pool", opens(pool))
    monkeypatch.setattr(processor.app, "create_producer", fail)
    app = processor.app.create_app(ProcessorSettings())

    with pytest.raises(StartFailed):
        await start(app)

    assert pool.closed


async def test_bulk_sync_closes_the_pool_when_a_later_step_of_its_start_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = FakePool()
    monkeypatch.setattr(bulk_sync.app, "create_pool", opens(pool))
    monkeypatch.setattr(bulk_sync.app, "create_producer", fail)
    app = bulk_sync.app.create_app(BulkSyncSettings())

    with pytest.raises(StartFailed):
        await start(app)

    assert pool.closed


async def test_zoho_proxy_closes_the_pool_when_its_http_client_fails_to_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = FakePool()
    monkeypatch.setattr(zoho_proxy.app, "create_proxy_pool", opens(pool))
    monkeypatch.setattr(httpx, "AsyncClient", fail)
    app = zoho_proxy.app.create_app(proxy_settings())

    with pytest.raises(StartFailed):
        await start(app)

    assert pool.closed


class DrainRecordingBudget:
    drained: list[bool]

    def __init__(self, *args: Any) -> None:
        pass

    async def drain(self) -> None:
        self.drained.append(True)


async def test_zoho_proxy_drains_its_budget_when_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Release writes in flight reach the database before the pool closes, even on cancel."""
    pool = FakePool()
    drained: list[bool] = []
    monkeypatch.setattr(zoho_proxy.app, "create_proxy_pool", opens(pool))
    monkeypatch.setattr(DrainRecordingBudget, "drained", drained, raising=False)
    monkeypatch.setattr(zoho_proxy.app, "Budget", DrainRecordingBudget)
    app = zoho_proxy.app.create_app(proxy_settings())

    with pytest.raises(asyncio.CancelledError):
        async with app.router.lifespan_context(app):
            raise asyncio.CancelledError

    assert drained == [True]
    assert pool.closed
