"""zoho-proxy overhead per call: proxy → simulator vs calling the simulator directly.

Both paths are real HTTP on loopback: the simulator (``python -m zoho_sim``) and one proxy
replica (``python -m zoho_proxy``, configured from the environment as in a pod) run as
processes of their own. A direct call carries a token minted once; a proxy call adds the
proxy's HTTP hop, the shared budget in PostgreSQL (one read + one versioned write to grant, one
write to release), token lookup, retries wrapper, metrics and a span. Calls are sequential
(latency), then with ``CONCURRENCY`` callers (throughput); direct and proxy rounds alternate
``ROUNDS`` times so a noisy machine hits both alike.

A second proxy process on the same database runs with ``ZOHO_PROXY_SYNCHRONOUS_COMMIT=off`` and
takes its turn in every round: the cost of the durable default (``on``: each budget write waits
for the WAL flush) is printed as a ratio against it.

Needs the local PostgreSQL (``make up`` or the test fixtures' server); works in a scratch
database removed afterwards. Environment: ``TDS_BENCH_DATABASE_URL`` (admin DSN, default the
local stack's), ``TDS_BENCH_PROXY_CALLS`` (per round, default 100).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
from cryptography.fernet import Fernet

from devstack.paths import log_dir
from tests.conftest import free_port
from tests.utils.polling import wait_ready
from tests.utils.processes import stop_process
from tests.utils.stack import scratch_database
from tests.utils.zoho import PROXY_AUTH, PROXY_READER_TOKEN
from zoho_sim.settings import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION_ID,
    DEFAULT_REFRESH_TOKEN,
)

ADMIN_URL = os.environ.get(
    "TDS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres"
)
CALLS = int(os.environ.get("TDS_BENCH_PROXY_CALLS", "100"))
ROUNDS = 3
CONCURRENCY = 8
START_TIMEOUT_SECONDS = 120.0
"""A liveness bound: a busy shared machine can take a minute to start a service."""

Call = Callable[[str], Awaitable[httpx.Response]]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _sequential(call: Call, ids: list[str], count: int) -> list[float]:
    latencies = []
    for record_id in itertools.islice(itertools.cycle(ids), count):
        started = time.perf_counter()
        response = await call(record_id)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return latencies


async def _concurrent(call: Call, ids: list[str], count: int) -> float:
    """Calls per second with ``CONCURRENCY`` callers."""
    cycle = itertools.cycle(ids)

    async def worker(n: int) -> None:
        for _ in range(n):
            response = await call(next(cycle))
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker(count // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (count // CONCURRENCY * CONCURRENCY) / (time.perf_counter() - started)


async def _run(sim_url: str, proxy_url: str, async_proxy_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=sim_url) as sim,
        httpx.AsyncClient(base_url=proxy_url, headers=PROXY_AUTH, timeout=30) as proxy,
        httpx.AsyncClient(base_url=async_proxy_url, headers=PROXY_AUTH, timeout=30) as async_proxy,
    ):
        token = (
            await sim.post(
                "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": DEFAULT_CLIENT_SECRET,
                    "refresh_token": DEFAULT_REFRESH_TOKEN,
                },
            )
        ).json()["access_token"]
        listing = await proxy.get("/v1/customers", params={"per_page": 50})
        ids = [r["contact_id"] for r in listing.json()["records"]]

        async def direct(record_id: str) -> httpx.Response:
            return await sim.get(
                f"/books/v3/contacts/{record_id}",
                params={"organization_id": DEFAULT_ORGANIZATION_ID},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
            )

        async def via_proxy(record_id: str) -> httpx.Response:
            return await proxy.get(f"/v1/customers/{record_id}")

        async def via_async_proxy(record_id: str) -> httpx.Response:
            return await async_proxy.get(f"/v1/customers/{record_id}")

        for warm in (direct, via_proxy, via_async_proxy):  # connections, statements
            await _sequential(warm, ids, 20)
        direct_lat: list[float] = []
        proxy_lat: list[float] = []
        async_lat: list[float] = []
        direct_rate: list[float] = []
        proxy_rate: list[float] = []
        async_rate: list[float] = []
        for _ in range(ROUNDS):
            direct_lat += await _sequential(direct, ids, CALLS)
            proxy_lat += await _sequential(via_proxy, ids, CALLS)
            async_lat += await _sequential(via_async_proxy, ids, CALLS)
            direct_rate.append(await _concurrent(direct, ids, CALLS))
            proxy_rate.append(await _concurrent(via_proxy, ids, CALLS))
            async_rate.append(await _concurrent(via_async_proxy, ids, CALLS))

    ms = 1000.0
    d50, d99 = _percentile(direct_lat, 0.5) * ms, _percentile(direct_lat, 0.99) * ms
    p50, p99 = _percentile(proxy_lat, 0.5) * ms, _percentile(proxy_lat, 0.99) * ms
    print(f"calls: {len(direct_lat)} direct, {len(proxy_lat)} via proxy (sequential, GET detail)")
    print(f"direct to simulator   p50 {d50:7.2f} ms   p99 {d99:7.2f} ms")
    print(f"via zoho-proxy        p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    print(f"proxy overhead/call   p50 {p50 - d50:7.2f} ms   p99 {p99 - d99:7.2f} ms")
    print(f"latency ratio proxy/direct  p50 {p50 / d50:5.2f}x   p99 {p99 / d99:5.2f}x")
    dr, pr = statistics.median(direct_rate), statistics.median(proxy_rate)
    print(
        f"throughput with {CONCURRENCY} callers: direct {dr:6.0f}/s, proxy {pr:6.0f}/s "
        f"(ratio {pr / dr:4.2f})"
    )
    a50, a99 = _percentile(async_lat, 0.5) * ms, _percentile(async_lat, 0.99) * ms
    ar = statistics.median(async_rate)
    print(f"proxy, synchronous_commit=off  p50 {a50:7.2f} ms   p99 {a99:7.2f} ms   {ar:6.0f}/s")
    print(
        f"synchronous_commit on/off: latency p50 {p50 / a50:4.2f}x  p99 {p99 / a99:4.2f}x, "
        f"throughput {pr / ar:4.2f}x"
    )


@contextmanager
def _serve(module: str, env: dict[str, str], port: int) -> Iterator[str]:
    """``python -m <module>`` as a process of its own, like a pod; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    log = log_dir() / f"bench-{module}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(
            f"{url}/ready",
            what=module,
            limit_seconds=START_TIMEOUT_SECONDS,
            process=process,
            log=log,
        )
        yield url
    finally:
        stop_process(process)


def main() -> None:
    with scratch_database(ADMIN_URL) as database_url:
        sim_env = {
            "ZOHO_SIM_PORT": str(free_port()),
            "ZOHO_SIM_DEFAULT_SCALE": "100",
            "ZOHO_SIM_LIMITS__PER_MINUTE": "1000000",
            "ZOHO_SIM_LIMITS__DAILY_QUOTA": "1000000",
            "ZOHO_SIM_LOG_LEVEL": "WARNING",
        }
        with _serve("zoho_sim", sim_env, int(sim_env["ZOHO_SIM_PORT"])) as sim_url:
            proxy_port = free_port()
            proxy_env = {
                "DATABASE_URL": database_url,
                "ZOHO_CLIENT_ID": DEFAULT_CLIENT_ID,
                "ZOHO_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                "ZOHO_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
                "ZOHO_ORGANIZATION_ID": DEFAULT_ORGANIZATION_ID,
                "ZOHO_ACCOUNTS_URL": sim_url,
                "ZOHO_API_BASE_URL": sim_url,
                "ZOHO_PROXY_PORT": str(proxy_port),
                "ZOHO_PROXY_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "ZOHO_PROXY_CLIENT_TOKENS": PROXY_READER_TOKEN,
                # A budget that never binds, with a rate-window log as long as in production
                # (about 100 calls): a short window instead of a huge limit.
                "ZOHO_PROXY_PER_MINUTE_LIMIT": "1000000",
                "ZOHO_PROXY_WINDOW_SECONDS": "0.5",
                "ZOHO_PROXY_WINDOW_MARGIN_SECONDS": "0",
                "ZOHO_PROXY_DAILY_LIMIT": "1000000",
                "LOG_LEVEL": "WARNING",
            }
            async_port = free_port()
            async_env = {
                **proxy_env,
                "ZOHO_PROXY_PORT": str(async_port),
                "ZOHO_PROXY_SYNCHRONOUS_COMMIT": "off",
            }
            with (
                _serve("zoho_proxy", proxy_env, proxy_port) as proxy_url,
                _serve("zoho_proxy", async_env, async_port) as async_proxy_url,
            ):
                asyncio.run(_run(sim_url, proxy_url, async_proxy_url))


if __name__ == "__main__":
    main()
