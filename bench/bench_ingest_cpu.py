"""ingest's CPU per webhook, in-process: the real app against a bare FastAPI endpoint.

The app is ``ingest.app.create_app`` as production builds it (middlewares, auth, HMAC off as in
the e2e stack, limits, metrics), with the tracer provider installed by
``tds_common.tracing.configure_tracing`` and JSON logging (to a null stream) as
``tds_common.server.serve`` sets them up, on uvloop, and startup objects frozen out of the garbage
collector the same way. Only Kafka is missing: the publisher is the real ``EventPublisher``
over a producer that acknowledges every send at once, so the envelope's encoding, the trace
headers, the timeout and the publish metrics are all measured.

Each request is one full invoice webhook (``bench_e2e.invoice_webhook``: 4 line items, ~2 KB),
encoded before the clock starts, handed to the ASGI app directly (no HTTP client, no server:
their CPU would only dilute the app's). The baseline is a bare FastAPI endpoint that reads the
body and answers 202, driven the same way, the two alternating in short turns within each
round. Reported: CPU microseconds per webhook (``time.process_time`` over a round, median of
rounds) of each, and their ratio. The measuring runs in a child process, whose setup (tracer
provider, logging, frozen objects) must not stay behind for the modules after this one.

Environment: ``BENCH_INGEST_CPU_REQUESTS`` (per app per round, default 1000),
``BENCH_INGEST_CPU_ROUNDS`` (default 7).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Final, cast

import uvloop
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message

from bench.bench_e2e import invoice_webhook
from bench.results import Results
from ingest.app import create_app
from ingest.publisher import EventPublisher
from ingest.settings import Settings
from tds_common.logging import configure_logging
from tds_common.tracing import configure_tracing

SECTION: Final = "ingest CPU per webhook (in-process)"
REQUESTS: Final = int(os.environ.get("BENCH_INGEST_CPU_REQUESTS", "1000"))
ROUNDS: Final = int(os.environ.get("BENCH_INGEST_CPU_ROUNDS", "7"))
TURNS: Final = 10
"""Each round's requests go in this many turns per app, the apps alternating."""
WARM_UP: Final = 200
TOKEN: Final = "bench-webhook-token-0123456789"
ORG_ID: Final = "60000000001"
PATH: Final = "/api/zoho/webhooks/invoices"
BARE_PATH: Final = "/bare"


class _AckingProducer:
    """Stands in for aiokafka's producer: every send is acknowledged at once."""

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivery.set_result(None)
        return delivery


class _InstantPublisher(EventPublisher):
    """The real publisher's code over :class:`_AckingProducer` (no broker to start or stop)."""

    async def start(self, *, within_seconds: float) -> None:
        self._producer = cast(Any, _AckingProducer())

    async def stop(self) -> None:
        self._producer = None


def _bare_app() -> FastAPI:
    # FastAPI's own telemetry off, as in every service (tds_common.app.create_service_app):
    # with the tracer provider installed it would open a span per request of the baseline too.
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.post(BARE_PATH, status_code=202)
    async def bare(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    return app


def _scope(path: str, body: bytes) -> dict[str, Any]:
    """What uvicorn (httptools) hands the app for one POST."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"Go-http-client/1.1"),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"x-tds-webhook-token", TOKEN.encode()),
            (b"accept-encoding", b"gzip"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: ASGIApp, path: str, body: bytes) -> int:
    """One request through the ASGI app; its status."""
    status = 0
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the app waits for a disconnect only after answering
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path, body), receive, send)
    return status


Drive = Callable[[int], Awaitable[float]]


def _driver(app: ASGIApp, path: str, bodies: list[bytes]) -> Drive:
    following = itertools.cycle(bodies)

    async def drive(count: int) -> float:
        """CPU seconds per request over ``count`` requests, one after another."""
        started = time.process_time()
        for _ in range(count):
            status = await _call(app, path, next(following))
            if status != 202:
                raise RuntimeError(f"{path}: answered {status}, expected 202")
        return (time.process_time() - started) / count

    return drive


async def _measure() -> dict[str, list[float]]:
    settings = Settings(webhook_secrets={ORG_ID: [TOKEN]}, zoho_organization_id=ORG_ID)
    publisher = _InstantPublisher(
        settings.kafka_bootstrap_servers,
        settings.topics.events,
        timeout_seconds=settings.publish_timeout_seconds,
        retry_after_seconds=settings.retry_after_seconds,
    )
    bodies = [json.dumps(invoice_webhook(n)).encode() for n in range(REQUESTS)]
    samples: dict[str, list[float]] = {"ingest": [], "bare": []}
    ingest, bare = create_app(settings, publisher=publisher), _bare_app()
    async with AsyncExitStack() as stack:
        # Neither lifespan yields state (ingest keeps its own on app.state), so each request
        # gets an empty one, as uvicorn would give it.
        for app in (ingest, bare):
            await stack.enter_async_context(LifespanManager(app))
        drivers = {
            "ingest": _driver(ingest, PATH, bodies),
            "bare": _driver(bare, BARE_PATH, bodies),
        }
        for drive in drivers.values():  # warm-up: imports, pydantic caches, label children
            await drive(WARM_UP)
        gc.collect()
        gc.freeze()  # as tds_common.server.serve does once the app is built
        try:
            for round_number in range(ROUNDS):
                # Short turns, alternating within the round, so a burst of other work on the
                # shared cores lands on both apps alike.
                spent = {"ingest": 0.0, "bare": 0.0}
                for turn in range(TURNS):
                    order = ("ingest", "bare") if (round_number + turn) % 2 else ("bare", "ingest")
                    for name in order:
                        spent[name] += await drivers[name](REQUESTS // TURNS)
                for name, total in spent.items():
                    samples[name].append(total / TURNS)
        finally:
            gc.unfreeze()
    return samples


def _measure_here(out: str) -> None:
    """The measurement, in a process of its own (:func:`run_bench` starts it): the tracer
    provider, the logging setup and the frozen objects must not outlive it in ``make bench``'s
    process (a provider cannot be uninstalled, and FastAPI apps of later modules would then
    open spans of their own)."""
    configure_logging("INFO", json_format=True)  # as serve() does; INFO logs every webhook
    with open(os.devnull, "w") as null:
        for handler in logging.getLogger().handlers:
            cast(logging.StreamHandler[Any], handler).setStream(null)
        configure_tracing("ingest")
        # uvloop, as production runs: asyncio's pure-Python loop would add its own CPU.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            samples = runner.run(_measure())
    Path(out).write_text(json.dumps(samples))


def run_bench(results: Results) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "samples.json")
        subprocess.run([sys.executable, "-m", "bench.bench_ingest_cpu", out], check=True)
        samples: dict[str, list[float]] = json.loads(Path(out).read_text())
    ingest_us = [s * 1e6 for s in samples["ingest"]]
    bare_us = [s * 1e6 for s in samples["bare"]]
    ratios = [i / b for i, b in zip(ingest_us, bare_us, strict=True)]
    for value in ratios:
        results.add(SECTION, "ingest / bare endpoint, CPU per webhook", value, "x", better="lower")
    for value in ingest_us:
        results.add(SECTION, "ingest CPU per webhook", value, "us", better="lower")
    for value in bare_us:
        results.add(SECTION, "bare endpoint CPU per request", value, "us", better="lower")
    results.say(
        SECTION,
        f"{REQUESTS} webhooks per app per round in {TURNS} alternating turns, {ROUNDS} rounds, "
        f"in-process (the ASGI app called directly), CPU time (median of rounds; lowest..highest):",
    )
    for name, values in (("ingest", ingest_us), ("bare", bare_us)):
        results.say(
            SECTION,
            f"  {name:6} {statistics.median(values):6.0f} us/webhook "
            f"({min(values):.0f}..{max(values):.0f})",
        )
    results.say(
        SECTION,
        f"  ratio  {statistics.median(ratios):6.2f}x ({min(ratios):.2f}..{max(ratios):.2f}); "
        f"ingest's own CPU {statistics.median(ingest_us) - statistics.median(bare_us):.0f} us",
    )


def main() -> None:
    if len(sys.argv) > 1:
        _measure_here(sys.argv[1])
    else:
        run_bench(Results())


if __name__ == "__main__":
    main()
