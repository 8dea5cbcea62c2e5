"""A simulator per test module on a free port, reset before every test, driven over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from zoho_sim.settings import SimSettings
from zoho_sim.testing import run_in_thread

from .helpers import SimClient

DEFAULT_TEST_SCALE = 300


@pytest.fixture(scope="module", name="sim_url")
def fixture_sim_url() -> Iterator[str]:
    with run_in_thread(SimSettings(port=0, default_scale=DEFAULT_TEST_SCALE)) as url:
        yield url


@pytest.fixture(name="sim")
def fixture_sim(sim_url: str) -> Iterator[SimClient]:
    with httpx.Client(base_url=sim_url, timeout=60) as client:
        client.post("/_sim/reset", json={"default_scale": DEFAULT_TEST_SCALE}).raise_for_status()
        yield SimClient(client)


@pytest.fixture(name="custom_sim")
def fixture_custom_sim() -> Iterator[Callable[..., SimClient]]:
    """``custom_sim(**settings)`` → a SimClient on a server of its own with those settings."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> SimClient:
            overrides.setdefault("default_scale", 50)
            settings = SimSettings.model_validate({"port": 0, **overrides})
            url = stack.enter_context(run_in_thread(settings))
            return SimClient(stack.enter_context(httpx.Client(base_url=url, timeout=60)))

        yield start
