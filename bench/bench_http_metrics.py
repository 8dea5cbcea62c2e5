"""Request-metrics middleware cost: one FastAPI app bare, with the old middleware, with the new.

Three apps with identical routes (a path-param GET returning small JSON, a POST echoing a JSON
body, a streamed response): ``bare`` has no request metrics, ``basehttp`` has the former
``@app.middleware("http")`` (Starlette ``BaseHTTPMiddleware``: an extra task and memory streams
per request, plus a full route-matching pass), ``asgi`` has today's ``instrument`` (a plain ASGI
middleware reading ``scope["route"]``). Requests go in-process through ``httpx.ASGITransport``
so the numbers are the middleware's CPU, not the network's; rounds alternate between the apps
so a busy machine hits all alike. Printed: microseconds per request (median of rounds, and
the best round, which noise from elsewhere can only make slower) and ratios to ``bare``.

Environment: ``BENCH_HTTP_METRICS_REQUESTS`` (per app per round, default 600),
``BENCH_HTTP_METRICS_ROUNDS`` (default 5), ``BENCH_HTTP_METRICS_CONCURRENCY`` (default 8).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from tds_common.metrics import HttpMetrics, create_http_metrics, instrument, route_template

REQUESTS = int(os.environ.get("BENCH_HTTP_METRICS_REQUESTS", "600"))
ROUNDS = int(os.environ.get("BENCH_HTTP_METRICS_ROUNDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_HTTP_METRICS_CONCURRENCY", "8"))
BODY = {"item_id": "4600000012345", "name": "Widget", "rate": 12.5, "tags": ["a", "b"]}


def _instrument_basehttp(app: FastAPI, metrics: HttpMetrics) -> None:
    """The former ``instrument`` (before the ASGI middleware), kept here as the comparison."""

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path == "/metrics":
            return await call_next(request)
        started = time.perf_counter()
        route = route_template(request.app.router, request.scope)
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.duration.labels(request.method, route).observe(time.perf_counter() - started)
            metrics.requests.labels(request.method, route, str(status)).inc()


def _app(variant: str) -> FastAPI:
    app = FastAPI()
    if variant == "basehttp":
        _instrument_basehttp(app, create_http_metrics("bench_basehttp"))
    elif variant == "asgi":
        instrument(app, create_http_metrics("bench_asgi"))

    # A handful of routes in front, as in the services (health, ready, metrics, stats...).
    for n in range(6):

        @app.get(f"/other{n}/{{thing}}")
        async def other(thing: str) -> dict[str, str]:
            return {"thing": thing}

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id, "status": "active"}

    @app.post("/webhooks/{entity}", status_code=202)
    async def webhook(entity: str, request: Request) -> dict[str, object]:
        return {"entity": entity, "size": len(await request.body())}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(8):
                yield b"x" * 512 + str(n).encode()

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    return app


async def _drive(client: httpx.AsyncClient, kind: str, count: int) -> float:
    """Seconds for ``count`` requests of ``kind`` with ``CONCURRENCY`` callers."""
    per_caller = count // CONCURRENCY

    async def caller(offset: int) -> None:
        for n in range(per_caller):
            if kind == "get":
                response = await client.get(f"/items/46000000{offset}{n}")
            elif kind == "post":
                response = await client.post("/webhooks/items", json=BODY)
            else:
                response = await client.get("/stream")
            if response.status_code >= 300:
                raise RuntimeError(f"{kind}: unexpected {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in range(CONCURRENCY)))
    return (time.perf_counter() - started) / (per_caller * CONCURRENCY)


async def _run() -> dict[tuple[str, str], list[float]]:
    variants = ("bare", "basehttp", "asgi")
    kinds = ("get", "post", "stream")
    clients = {
        v: httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(v)), base_url="http://b")
        for v in variants
    }
    samples: dict[tuple[str, str], list[float]] = {(v, k): [] for v in variants for k in kinds}
    try:
        for variant in variants:  # warm-up: imports, pydantic caches, label children
            for kind in kinds:
                await _drive(clients[variant], kind, 200)
        for round_number in range(ROUNDS):
            # Rotate the order too, so no variant always runs right after another.
            order = variants[round_number % 3 :] + variants[: round_number % 3]
            for kind in kinds:
                for variant in order:
                    samples[(variant, kind)].append(await _drive(clients[variant], kind, REQUESTS))
    finally:
        for client in clients.values():
            await client.aclose()
    return samples


def main() -> None:
    samples = asyncio.run(_run())
    print(
        f"{REQUESTS} requests per app per round, {ROUNDS} alternating rounds, "
        f"{CONCURRENCY} callers, in-process (httpx.ASGITransport); median of rounds, then best"
    )
    for kind in ("get", "post", "stream"):
        bare, old, new = (
            statistics.median(samples[(v, kind)]) * 1e6 for v in ("bare", "basehttp", "asgi")
        )
        print(
            f"  {kind:6}  bare {bare:6.0f} us/req   basehttp {old:6.0f} us/req ({old - bare:+5.0f})"
            f"   asgi {new:6.0f} us/req ({new - bare:+5.0f})"
        )
        share = max(new - bare, 0.0) / max(old - bare, 1e-9)
        print(
            f"          ratio to bare: basehttp {old / bare:.2f}x, asgi {new / bare:.2f}x;"
            f"  middleware overhead asgi/basehttp {share:.2f}x"
        )
        best = {v: min(samples[(v, kind)]) * 1e6 for v in ("bare", "basehttp", "asgi")}
        print(
            f"          best round: bare {best['bare']:.0f}, basehttp {best['basehttp']:.0f}"
            f" ({best['basehttp'] / best['bare']:.2f}x), asgi {best['asgi']:.0f}"
            f" ({best['asgi'] / best['bare']:.2f}x) us/req"
        )


if __name__ == "__main__":
    main()
