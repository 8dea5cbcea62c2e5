"""An open-loop HTTP load generator in several processes, so that it is not the bottleneck.

Each worker process (aiohttp, one connection pool) sends its share of the requests on a fixed
schedule (``start + n / rate``) whatever the answers' latency, as webhooks arrive: a slow server
shows up as latency and as a lower accepted rate, never as a politely slowed client. Latency is
measured from the scheduled send time, so time the client itself fell behind counts against the
server rather than hiding (coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

Body = Callable[[int], dict[str, Any]]
"""The JSON body of request number n (each worker sends the numbers of its share)."""


@dataclass
class Outcome:
    offered_rate: float
    sent: int = 0
    accepted: int = 0
    """Answered 2xx."""
    seconds: float = 0.0
    """From the first scheduled send to the last answer."""
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    late_sends: int = 0
    """Sends more than 10 ms behind their schedule: the generator itself could not keep up."""

    @property
    def accepted_rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


async def _worker(
    url: str, headers: dict[str, str], numbers: list[int], body: Body, rate: float, start_at: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    late = accepted = 0
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(position: int, number: int) -> None:
            nonlocal late, accepted
            scheduled = start_at + position / rate
            delay = scheduled - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1
            data = json.dumps(body(number))
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            latencies.append(time.time() - scheduled)
            if 200 <= status < 300:
                accepted += 1
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1

        await asyncio.gather(*(send(p, n) for p, n in enumerate(numbers)))
    return {
        "latencies": latencies,
        "errors": errors,
        "late": late,
        "accepted": accepted,
        "finished": time.time(),
    }


def _run_worker(args: tuple[str, dict[str, str], list[int], Body, float, float]) -> dict[str, Any]:
    return asyncio.run(_worker(*args))


def _warm(body: Body) -> int:
    body(0)  # imports the body's module in the worker
    return 0


class Generator:
    """The worker processes, started once (spawning and importing takes seconds) and reused."""

    def __init__(self, processes: int, body: Body) -> None:
        self.processes = processes
        self._pool = multiprocessing.get_context("spawn").Pool(processes)
        self._pool.map(_warm, [body] * processes, chunksize=1)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def drive(
        self,
        url: str,
        body: Body,
        rate: float,
        seconds: float,
        *,
        first: int = 0,
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        """Offer ``rate`` requests/s for ``seconds``; request numbers run from ``first``,
        worker k sending every ``processes``-th one. ``body`` must be picklable (a module-level
        function)."""
        total, processes = int(rate * seconds), self.processes
        start_at = time.time() + 0.5  # every worker has its plan before the first send
        plans = [
            (
                url,
                {"Content-Type": "application/json", **(headers or {})},
                list(range(first + k, first + total, processes)),
                body,
                rate / processes,
                start_at,
            )
            for k in range(processes)
        ]
        parts = self._pool.map(_run_worker, plans, chunksize=1)
        return _combine(rate, total, start_at, parts)


def _combine(rate: float, total: int, start_at: float, parts: list[dict[str, Any]]) -> Outcome:
    outcome = Outcome(rate, sent=total)
    for part in parts:
        outcome.latencies += part["latencies"]
        outcome.accepted += part["accepted"]
        outcome.late_sends += part["late"]
        for key, count in part["errors"].items():
            outcome.errors[key] = outcome.errors.get(key, 0) + count
    outcome.seconds = max(p["finished"] for p in parts) - start_at
    return outcome
