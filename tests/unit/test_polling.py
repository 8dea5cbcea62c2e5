"""tests.utils.polling.wait_until: plain and async checks, and a failure that names the wait."""

from __future__ import annotations

import itertools

import pytest

from tests.utils.polling import wait_until


async def test_waits_for_a_plain_check() -> None:
    calls = itertools.count()
    await wait_until(lambda: next(calls) >= 2, what="the third call", interval_seconds=0)
    assert next(calls) == 3


async def test_waits_for_an_async_check() -> None:
    calls = itertools.count()

    async def check() -> bool:
        return next(calls) >= 2

    await wait_until(check, what="the third call", interval_seconds=0)
    assert next(calls) == 3


async def test_names_what_it_waited_for_when_it_gives_up() -> None:
    with pytest.raises(AssertionError, match="timed out waiting for the impossible"):
        await wait_until(lambda: False, what="the impossible", limit_seconds=0.05)
