"""The token lease on a real PostgreSQL, with the token endpoint mocked (httpx.MockTransport).

Sim-based tests cover the same against the simulator; these pin down each Zoho answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY

from tds_common.db import create_pool
from tests.utils.zoho import proxy_settings, unique_refresh_token
from zoho_proxy.errors import TokenRevokedError, TokenUnavailableError
from zoho_proxy.settings import Settings
from zoho_proxy.tokens import TokenManager, credential_key

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class Accounts:
    """A scripted token endpoint counting its calls."""

    def __init__(self, answer: Callable[[int], httpx.Response]) -> None:
        self.calls = 0
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        assert request.url.path == "/oauth/v2/token"
        assert b"grant_type=refresh_token" in request.content
        return self._answer(self.calls)


def minting(expires_in: int = 3600) -> Accounts:
    counter = itertools.count(1)
    return Accounts(
        lambda n: httpx.Response(
            200, json={"access_token": f"1000.tok{next(counter)}.x", "expires_in": expires_in}
        )
    )


@asynccontextmanager
async def managers(
    settings: Settings, accounts: Handler, count: int
) -> AsyncIterator[list[TokenManager]]:
    async with AsyncExitStack() as stack:
        result = []
        for _ in range(count):
            pool = await create_pool(settings.database_url.get_secret_value(), max_size=3)
            stack.push_async_callback(pool.close)
            http = httpx.AsyncClient(transport=httpx.MockTransport(accounts))
            stack.push_async_callback(http.aclose)
            result.append(TokenManager(pool, http, settings))
        yield result


async def test_replicas_share_one_mint_and_store_it_encrypted(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    settings = proxy_settings(database_url)
    accounts = minting()
    async with managers(settings, accounts, 3) as replicas:
        tokens = await asyncio.gather(*(replicas[i % 3].get() for i in range(30)))
    assert set(tokens) == {"1000.tok1.x"}
    assert accounts.calls == 1
    key = credential_key(settings.zoho_client_id, settings.zoho_refresh_token.get_secret_value())
    stored = await db_pool.fetchval(
        "SELECT access_token_enc FROM zoho_proxy_tokens WHERE credential_key = $1", key
    )
    assert stored and "tok1" not in stored
    # A restarted replica (new manager, empty cache) reuses the stored token.
    async with managers(settings, accounts, 1) as (restarted,):
        assert await restarted.get() == "1000.tok1.x"
    assert accounts.calls == 1


async def test_refresh_before_expiry_happens_once(database_url: str) -> None:
    # A new token stays fresh for 2 s: more than a mint takes (two commits and Zoho's answer)
    # even on a loaded machine, so the replicas queued behind the mint find it fresh.
    settings = proxy_settings(database_url, token_refresh_margin_seconds=3598)
    accounts = minting(expires_in=3600)
    async with managers(settings, accounts, 3) as replicas:
        assert await replicas[0].get() == "1000.tok1.x"
        await asyncio.sleep(2.1)  # now inside the refresh margin
        tokens = await asyncio.gather(*(replicas[i % 3].get() for i in range(12)))
    assert set(tokens) == {"1000.tok2.x"}
    assert accounts.calls == 2


async def test_lockout_backs_off_for_every_replica(database_url: str) -> None:
    body = {
        "error_description": "You have made too many requests continuously.",
        "error": "Access Denied",
        "status": "failure",
    }
    accounts = Accounts(lambda n: httpx.Response(400, json=body))
    settings = proxy_settings(database_url, token_lockout_backoff_seconds=900)
    async with managers(settings, accounts, 2) as (one, two):
        with pytest.raises(TokenUnavailableError, match="locked") as caught:
            await one.get()
        assert caught.value.retry_after_seconds == pytest.approx(900, abs=2)
        with pytest.raises(TokenUnavailableError, match="locked"):
            await two.get()
        assert one.state == "locked_out" and two.state == "locked_out"
    assert accounts.calls == 1  # nobody hammered the endpoint


async def test_revoked_refresh_token_is_a_clear_permanent_state(database_url: str) -> None:
    accounts = Accounts(lambda n: httpx.Response(200, json={"error": "invalid_code"}))
    settings = proxy_settings(database_url)
    async with managers(settings, accounts, 1) as (manager,):
        for _ in range(3):
            with pytest.raises(TokenRevokedError, match="new refresh token"):
                await manager.get()
        assert manager.state == "revoked" and manager.last_error == "invalid_code"
    assert accounts.calls == 1


async def test_failing_endpoint_backs_off_then_recovers(database_url: str) -> None:
    def answer(n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(503, text="down")
        return httpx.Response(200, json={"access_token": "1000.ok.x", "expires_in": 3600})

    accounts = Accounts(answer)
    settings = proxy_settings(database_url, token_failure_backoff_seconds=0.3)
    async with managers(settings, accounts, 1) as (manager,):
        with pytest.raises(TokenUnavailableError, match="failing"):
            await manager.get()
        with pytest.raises(TokenUnavailableError):
            await manager.get()  # within the backoff: no call
        assert accounts.calls == 1 and manager.state == "failing"
        await asyncio.sleep(0.35)
        assert await manager.get() == "1000.ok.x"
        assert str(manager.state) == "ok"


async def test_own_mint_limit_stops_before_zoho_would(database_url: str) -> None:
    settings = proxy_settings(
        database_url,
        token_max_mints=2,
        token_refresh_margin_seconds=0,
        token_min_age_for_invalidation_seconds=0,
    )
    accounts = minting()
    async with managers(settings, accounts, 1) as (manager,):
        first = await manager.get()
        assert await manager.invalidate(first)
        second = await manager.get()
        assert await manager.invalidate(second)
        with pytest.raises(TokenUnavailableError, match="mint limit") as caught:
            await manager.get()
        assert (caught.value.retry_after_seconds or 0) > 500
    assert accounts.calls == 2


async def test_a_burst_of_401s_costs_one_mint(database_url: str) -> None:
    settings = proxy_settings(database_url, token_min_age_for_invalidation_seconds=0)
    accounts = minting()
    async with managers(settings, accounts, 3) as replicas:
        old = await replicas[0].get()
        await asyncio.gather(*(r.get() for r in replicas))
        results: list[Any] = await asyncio.gather(*(r.invalidate(old) for r in replicas))
        assert all(results)
        fresh = await asyncio.gather(*(replicas[i % 3].get() for i in range(9)))
    assert set(fresh) == {"1000.tok2.x"}
    assert accounts.calls == 2


async def test_a_401_on_a_young_token_does_not_mint(database_url: str) -> None:
    settings = proxy_settings(database_url, token_min_age_for_invalidation_seconds=60)
    accounts = minting()
    async with managers(settings, accounts, 1) as (manager,):
        token = await manager.get()
        assert not await manager.invalidate(token)
        assert await manager.get() == token
    assert accounts.calls == 1


async def _mint_times(db_pool: asyncpg.Pool, settings: Settings) -> list[Any]:
    key = credential_key(settings.zoho_client_id, settings.zoho_refresh_token.get_secret_value())
    times: list[Any] = await db_pool.fetchval(
        "SELECT mint_times FROM zoho_proxy_tokens WHERE credential_key = $1", key
    )
    return times


async def test_a_mint_attempt_is_committed_before_zoho_is_asked(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    settings = proxy_settings(database_url)
    seen_by_others: list[int] = []

    async def accounts(request: httpx.Request) -> httpx.Response:
        # What every other connection (another replica, or this one after a crash) sees now.
        seen_by_others.append(len(await _mint_times(db_pool, settings)))
        return httpx.Response(200, json={"access_token": "1000.tok.x", "expires_in": 3600})

    async with managers(settings, accounts, 1) as (manager,):
        assert await manager.get() == "1000.tok.x"
    assert seen_by_others == [1]
    assert len(await _mint_times(db_pool, settings)) == 1  # counted once, not twice


async def test_a_replica_killed_while_zoho_mints_still_counts_the_mint(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    settings = proxy_settings(database_url, token_max_mints=2)
    asked = asyncio.Event()

    async def never_answers(request: httpx.Request) -> httpx.Response:
        asked.set()  # Zoho has the request (and may mint); the replica dies before the answer
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async with managers(settings, never_answers, 1) as (dying,):
        task = asyncio.create_task(dying.get())
        await asked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(await _mint_times(db_pool, settings)) == 1

    accounts = minting()
    async with managers(settings, accounts, 1) as (survivor,):
        token = await survivor.get()  # the lock died with the replica: no one is stuck
        assert await survivor.invalidate(token, verified=True)
        with pytest.raises(TokenUnavailableError, match="mint limit"):
            await survivor.get()  # the lost attempt and this mint: the limit of 2 is reached
    assert accounts.calls == 1


async def test_tokens_stored_under_an_old_key_are_read_after_rotation(database_url: str) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    refresh_token = unique_refresh_token()
    before = proxy_settings(
        database_url, zoho_refresh_token=refresh_token, token_encryption_key=old_key
    )
    after = proxy_settings(
        database_url,
        zoho_refresh_token=refresh_token,
        token_encryption_key=new_key,
        token_encryption_old_keys=[old_key],
    )
    accounts = minting()
    async with managers(before, accounts, 1) as (old_replica,):
        token = await old_replica.get()
    async with managers(after, accounts, 1) as (new_replica,):
        assert await new_replica.get() == token
    assert accounts.calls == 1


async def test_an_unreadable_stored_token_is_replaced_not_an_outage(database_url: str) -> None:
    refresh_token = unique_refresh_token()
    first, second = (
        proxy_settings(
            database_url,
            zoho_refresh_token=refresh_token,
            token_encryption_key=Fernet.generate_key().decode(),
        )
        for _ in range(2)
    )
    unreadable = REGISTRY.get_sample_value("tds_zoho_proxy_token_unreadable_total") or 0.0
    accounts = minting()
    async with managers(first, accounts, 1) as (old_replica,):
        assert await old_replica.get() == "1000.tok1.x"
    # The key was rotated without keeping the old one: the stored token counts as absent.
    async with managers(second, accounts, 2) as (replica, restarted):
        assert await replica.get() == "1000.tok2.x"
        assert await restarted.get() == "1000.tok2.x"  # stored under the new key
        assert replica.state == "ok"
    assert accounts.calls == 2
    assert (REGISTRY.get_sample_value("tds_zoho_proxy_token_unreadable_total") or 0.0) > unreadable


async def test_a_token_due_for_refresh_is_not_young(database_url: str) -> None:
    # Young tokens refused by Zoho count as a missing scope; one past its refresh time may just
    # have expired on its way to Zoho, so it is not young, whatever the minimum age says.
    settings = proxy_settings(
        database_url,
        token_min_age_for_invalidation_seconds=600,
        token_refresh_margin_seconds=3599.7,
    )
    async with managers(settings, minting(), 1) as (manager,):
        token = await manager.get()
        assert manager.is_young(token)
        assert not manager.is_young("1000.another.token")
        await asyncio.sleep(0.4)  # past its refresh time (0.3 s of freshness)
        assert not manager.is_young(token)
