"""The Python generator: open loop in several processes (aiohttp), the fallback when vegeta is
not built (bench/README.md says what it costs).

Each worker process (one connection pool) sends its share of the requests on a fixed schedule
(``start + n / rate``) whatever the answers' latency, as webhooks arrive: a slow server shows up
as latency and as a lower accepted rate, never as a politely slowed client. Latency is measured
from the scheduled send time, so time the client itself fell behind counts against the server
rather than hiding (coordinated omission). Bodies are built (``body(n)``) and encoded at send
time, inside the schedule: part of why it costs a millisecond of CPU per request.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from typing import Any

import aiohttp

from bench.loadgen.outcome import LATE_SECONDS, Body, Outcome


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
            # After the sleep: an event loop too busy to wake the send on time made it late too.
            if time.time() - scheduled > LATE_SECONDS:
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
    cpu = time.process_time()  # this worker process, all its threads
    part = asyncio.run(_worker(*args))
    part["cpu"] = time.process_time() - cpu
    return part


def _warm(body: Body) -> int:
    body(0)  # imports the body's module in the worker
    return 0


class AiohttpPool:
    """The worker processes, started once (spawning and importing takes seconds) and reused."""

    def __init__(self, processes: int, body: Body) -> None:
        self.processes = processes
        self.name = f"{processes} Python processes (aiohttp)"
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
        """Worker k sends every ``processes``-th request number."""
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
    outcome = Outcome(rate, sent=total, generator_cpu=0.0)
    for part in parts:
        outcome.latencies += part["latencies"]
        outcome.accepted += part["accepted"]
        outcome.late_sends += part["late"]
        outcome.generator_cpu += part["cpu"]
        for key, count in part["errors"].items():
            outcome.errors[key] = outcome.errors.get(key, 0) + count
    outcome.seconds = max(p["finished"] for p in parts) - start_at
    return outcome
