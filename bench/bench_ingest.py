"""ingest throughput and latency with durable publish, against a bare FastAPI 200 endpoint.

Both servers run under uvicorn on loopback, each in a process of its own (so the client does not
share their GIL), and the same httpx client drives both in the same run with the same payload
and concurrency:

- baseline: a FastAPI app whose POST reads the body and answers 200;
- ingest: the real app (token check, size-limited read, validation, envelope, publish to the
  local Kafka with acks=all and idempotence, 202 only after the broker's acknowledgement),
  logging JSON at INFO as in production (to /dev/null here).

Printed: accepted webhooks/s and p50/p99 latency for each, and ingest/baseline ratios.
The two alternate in ``BENCH_INGEST_ROUNDS`` rounds (default 4) so that load from elsewhere on
a shared machine skews both alike. Knobs: ``BENCH_INGEST_REQUESTS`` (default 2000 per server),
``BENCH_INGEST_CONCURRENCY`` (default 32),
``KAFKA_BOOTSTRAP_SERVERS`` (default the local stack's broker, which must be running).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Final

import httpx
from fastapi import FastAPI, Request, Response

TOKEN: Final = "bench-webhook-token-0001"
BODY: Final = {
    "item": {
        "item_id": "4600000000012345",
        "name": "Bench widget",
        "sku": "BW-1",
        "rate": 12.5,
        "status": "active",
        "last_modified_time": "2026-06-09T09:45:21-0400",
        "custom_fields": [{"label": f"f{i}", "value": "x" * 20} for i in range(10)],
    }
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quiet() -> None:
    # The server's JSON logs would drown the report; it lives as long as the process.
    sys.stdout = open(os.devnull, "w")


def serve_baseline(port: int) -> None:
    import uvicorn

    _quiet()
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    @app.get("/health")
    async def health() -> Response:
        return Response(status_code=200)

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def serve_ingest(port: int, bootstrap: str, topic: str) -> None:
    import uvicorn

    from ingest.app import create_app
    from ingest.settings import Settings
    from tds_common.logging import configure_logging
    from tds_common.settings import TopicSettings

    _quiet()
    configure_logging("INFO")
    settings = Settings(
        webhook_secrets=[TOKEN],
        zoho_organization_id="700000001",
        kafka_bootstrap_servers=bootstrap,
        topics=TopicSettings(events=topic),
    )
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1]


async def _wait_up(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(600):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base_url} did not come up")


async def _drive(name: str, url: str, requests: int, concurrency: int) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"X-TDS-Webhook-Token": TOKEN}
    latencies: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(requests):
            queue.put_nowait(number)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(url, json=BODY, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 300:
                    raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, requests, elapsed, latencies)


async def _prepare_topic(bootstrap: str, topic: str) -> None:
    from tds_common.kafka import ensure_topics
    from tests.utils.kafka import SINGLE_BROKER

    await ensure_topics(bootstrap, {topic: 3}, kafka=SINGLE_BROKER)


async def _delete_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def main() -> None:
    requests = int(os.environ.get("BENCH_INGEST_REQUESTS", "2000"))
    concurrency = int(os.environ.get("BENCH_INGEST_CONCURRENCY", "32"))
    rounds = int(os.environ.get("BENCH_INGEST_ROUNDS", "4"))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    topic = f"bench.{uuid.uuid4().hex[:8]}.events"
    asyncio.run(_prepare_topic(bootstrap, topic))

    context = multiprocessing.get_context("spawn")
    base_port, ingest_port = _free_port(), _free_port()
    servers = [
        context.Process(target=serve_baseline, args=(base_port,), daemon=True),
        context.Process(target=serve_ingest, args=(ingest_port, bootstrap, topic), daemon=True),
    ]
    for process in servers:
        process.start()
    try:

        async def run() -> tuple[Result, Result]:
            base_url = f"http://127.0.0.1:{base_port}/bare"
            ingest_url = f"http://127.0.0.1:{ingest_port}/api/zoho/webhooks/products"
            await _wait_up(f"http://127.0.0.1:{base_port}")
            await _wait_up(f"http://127.0.0.1:{ingest_port}")
            await _drive("warm-up", base_url, 200, concurrency)
            await _drive("warm-up", ingest_url, 200, concurrency)
            # Alternate short rounds so load from elsewhere on the machine hits both alike.
            baseline, ingest = Result("baseline", 0, 0.0, []), Result("ingest", 0, 0.0, [])
            for _ in range(rounds):
                for total, url in ((baseline, base_url), (ingest, ingest_url)):
                    part = await _drive(total.name, url, requests // rounds, concurrency)
                    total.requests += part.requests
                    total.seconds += part.seconds
                    total.latencies += part.latencies
            return baseline, ingest

        baseline, ingest = asyncio.run(run())
    finally:
        for process in servers:
            process.terminate()
            process.join(30)
        asyncio.run(_delete_topic(bootstrap, topic))

    print(
        f"{baseline.requests} requests each in {rounds} alternating rounds, "
        f"concurrency {concurrency}, body {len(json.dumps(BODY))} bytes"
    )
    for result in (baseline, ingest):
        p50, p99 = result.percentile(50) * 1000, result.percentile(99) * 1000
        print(f"  {result.name:8} {result.rate:8.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    print(
        f"  ratio ingest/baseline: throughput {ingest.rate / baseline.rate:.2f}x, "
        f"p50 {ingest.percentile(50) / baseline.percentile(50):.2f}x, "
        f"p99 {ingest.percentile(99) / baseline.percentile(99):.2f}x"
    )


if __name__ == "__main__":
    main()
