"""Webhook accepted → row committed, at 100, 500 and 1,000 events/s, and each service's memory.

The e2e suite's stack, as its fixture builds it (``running_stack``): the simulator,
zoho-proxy, ingest, processor and bulk-sync as the processes they are in production
(``python -m <package>``), against the local Kafka (fresh topics, events with 3 partitions) and
a scratch PostgreSQL database. A bare FastAPI endpoint (reads the body, answers 200) runs
beside them as the baseline. The load generator (:mod:`bench.loadgen`: vegeta, open loop)
offers each rate for ``BENCH_E2E_SECONDS`` to the baseline and then to ingest, with full
invoice webhooks (4 line items, ~2 KB, so the processor needs no Zoho read), in
``BENCH_E2E_ROUNDS`` rounds of the rates. Measured:

- accepted/s and HTTP p50/p99 of ingest vs the bare endpoint at the same offered rate;
- delay from ingest's receipt (``tds_sync_queue.queued_at``, the envelope's ``received_at``) to
  the row's write (``processing_completed_at``, in the batch's transaction just before its
  commit), p50/p99 per rate, and whether the processor kept up (drain time after the load);
  and its two parts: receipt → the processor began preparing the batch, and from there on;
- CPU per event of each component (each service, Kafka, PostgreSQL, the load generator, the
  rest) and the cores busy in total, per rate (:mod:`bench.cpu`): on two cores, whether the
  machine was the limit;
- peak RSS of each service's process (psutil, sampled every 0.2 s): idle, under each webhook
  rate, and during a full sync of every entity (``BENCH_E2E_BULK_SECONDS``) for zoho-proxy and
  bulk-sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from fastapi import FastAPI, Request, Response

from bench.cpu import CpuMeter, CpuUse
from bench.loadgen import Generator, Outcome
from bench.results import Results
from tds_common.events import format_zoho_timestamp
from tests.conftest import free_port
from tests.e2e import conftest as e2e
from tests.e2e.conftest import ORG_ID, WEBHOOK_SECRET, Stack, running_stack
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_ready
from tests.utils.stack import scratch_database

SECTION = "end to end (webhook → row)"
RATES = [int(r) for r in os.environ.get("BENCH_E2E_RATES", "100,500,1000").split(",")]
SECONDS = float(os.environ.get("BENCH_E2E_SECONDS", "8"))
GENERATOR_PROCESSES = int(os.environ.get("BENCH_E2E_GENERATORS", "3"))
DRAIN_LIMIT_SECONDS = 45.0
"""How long rows may take to appear after a rate's last request (the drain); beyond it the rate
is reported with the rows found, which says the processor did not keep up."""
DRAIN_POLL_SECONDS = 0.25
DRAIN_QUIET_POLLS = 4
"""Once there is a row per accepted request, polls in a row without a new one end the drain."""
SUSTAINED_SHARE = 0.9
"""A rate the bare endpoint accepts less than this share of is beyond what the machine (the
generator, the loopback, the cores) can offer: higher rates would measure the machine too."""
ID_BASE = 460_000_000_000_000_000
RSS_LIMIT_MB = 150
BULK_SECONDS = float(os.environ.get("BENCH_E2E_BULK_SECONDS", "20"))
REPORTED_CPU = ("ingest", "processor", "kafka", "postgresql", "load generator", "other")
"""The components whose CPU per event goes into the report (the rest spend next to nothing
while webhooks flow, and are printed only); ``other`` is every other process on the machine:
the bench itself, and whatever else runs (a busy machine shows there)."""
ROUNDS = int(os.environ.get("BENCH_E2E_ROUNDS", "3"))
"""Rounds of the rates (100, 500, 1,000, 100, ...): each figure's spread over them shows what a
stall elsewhere on the shared machine did to one round."""
SENT_PER_RATE_ROOM = 10**6
"""Request numbers per rate and round: each drive's invoices are new ones."""
PLOTTED = ("ingest HTTP p99", "bare HTTP p99", "webhook→row p50", "webhook→row p99")
PROFILE_DIR = os.environ.get("BENCH_E2E_PROFILE")
"""A folder: ingest and the processor are sampled with py-spy during each rate, one collapsed-
stack file per service and rate there (``<service>-<rate>.txt``, for flame graph tools)."""


def invoice_webhook(number: int) -> dict[str, Any]:
    """Request n's body: a full invoice (module level: the generator's processes pickle it)."""
    record = f.invoice(str(ID_BASE + number), lines=4)
    record["last_modified_time"] = format_zoho_timestamp(datetime.now(UTC))
    return {"invoice": record}


def serve_bare(port: int) -> None:
    import uvicorn

    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    @app.get("/ready")
    async def ready() -> Response:
        return Response(status_code=200)

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


class RssSampler:
    """Peak resident memory of named processes, per phase, sampled in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks: dict[str, dict[str, float]] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        peaks = self.peaks.setdefault(name, dict.fromkeys(self._processes, 0.0))
        done = threading.Event()

        def sample() -> None:
            while True:
                for service, process in self._processes.items():
                    try:
                        mb = process.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peaks[service] = max(peaks[service], mb)
                if done.wait(0.2):
                    return

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


@dataclass
class Delays:
    """Per committed row: receipt → written, and its two parts."""

    total: list[float]
    to_processor: list[float]
    """Receipt → the processor began preparing the row's batch (ingest's publish, Kafka, the
    consumer's fetch)."""
    in_processor: list[float]
    """Preparing began → written (decode and map, the wait for the batch before, the write)."""


async def _delays(
    database_url: str, first: int, sent: int, accepted: int
) -> tuple[Delays, int, float]:
    """Per committed row of requests first..first+sent-1: the delays; rows found; wait spent.

    Waits for a row per accepted request, then for the rows to stop coming (a request the
    generator gave up on may still have been accepted): a rejected request never becomes a row,
    so waiting for one per request sent waited out the limit whenever ingest said 503.
    """
    ids = [str(ID_BASE + n) for n in range(first, first + sent)]
    conn = await asyncpg.connect(database_url)
    started = time.monotonic()
    history: list[int] = []
    try:
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM tds_sync_queue WHERE org_id = $1 AND entity_type = "
                "'invoices' AND zoho_entity_id = ANY($2::text[]) AND status = 'completed'",
                ORG_ID,
                ids,
            )
            history.append(found)
            quiet = (
                len(history) >= DRAIN_QUIET_POLLS and len(set(history[-DRAIN_QUIET_POLLS:])) == 1
            )
            settled = found >= accepted and quiet
            if found >= sent or settled or time.monotonic() - started > DRAIN_LIMIT_SECONDS:
                break
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        rows = await conn.fetch(
            "SELECT extract(epoch FROM processing_completed_at - queued_at)::float8 AS d, "
            "extract(epoch FROM processing_started_at - queued_at)::float8 AS to_processor "
            "FROM tds_sync_queue WHERE org_id = $1 AND entity_type = 'invoices' "
            "AND zoho_entity_id = ANY($2::text[])",
            ORG_ID,
            ids,
        )
    finally:
        await conn.close()
    delays = Delays(
        [r["d"] for r in rows],
        [r["to_processor"] for r in rows],
        [r["d"] - r["to_processor"] for r in rows],
    )
    return delays, int(found), time.monotonic() - started


def _percentile(values: list[float], q: int) -> float:
    return Outcome(0, latencies=values).percentile(q)


@contextmanager
def e2e_stack(database_url: str, bootstrap: str) -> Iterator[Stack]:
    """The e2e suite's stack (simulator, zoho-proxy, ingest, processor, bulk-sync as processes,
    fresh topics), as its fixture builds it: the bench runs what the tests run."""
    # A busy machine can take over a minute to import and start five services.
    e2e.START_TIMEOUT_SECONDS = max(e2e.START_TIMEOUT_SECONDS, 240.0)
    with running_stack(database_url, bootstrap, {}) as stack:
        yield stack


def run_bench(results: Results) -> None:
    admin = os.environ["TDS_BENCH_DATABASE_URL"]
    bootstrap = os.environ["TDS_BENCH_KAFKA_BOOTSTRAP"]
    with scratch_database(admin) as database_url:
        bare_port = free_port()
        bare = multiprocessing.get_context("spawn").Process(
            target=serve_bare, args=(bare_port,), daemon=True
        )
        bare.start()
        try:
            with e2e_stack(database_url, bootstrap) as stack:
                wait_ready(f"http://127.0.0.1:{bare_port}/ready", what="the bare endpoint")
                _measure(results, stack, bare_port, bare.pid or 0)  # started: has a pid
        finally:
            bare.terminate()
            bare.join(10)


def _measure(results: Results, stack: Stack, bare_port: int, bare_pid: int) -> None:
    sampler = RssSampler(
        {
            "ingest": stack.ingest.process.pid,
            "processor": stack.processor.process.pid,
            "zoho-proxy": stack.proxy.process.pid,
            "bulk-sync": stack.bulk_sync.process.pid,
        }
    )
    with sampler.phase("idle"):
        time.sleep(3)
    generator = Generator(GENERATOR_PROCESSES, invoice_webhook)
    try:
        _rates(results, stack, bare_port, bare_pid, generator, sampler)
    finally:
        generator.close()
    with sampler.phase("bulk sync"):
        _bulk_sync_load(results, stack)
    _memory(results, sampler)


def _bulk_sync_load(results: Results, stack: Stack) -> None:
    """A full sync of every entity (through zoho-proxy and the simulator) for BULK_SECONDS."""
    token = stack.tds_env().get("TDS_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{stack.bulk_sync.url}/api/zoho/bulk-sync"
    httpx.post(url, json={"mode": "full"}, headers=headers, timeout=30).raise_for_status()
    time.sleep(BULK_SECONDS)
    results.say(SECTION, f"bulk sync of every entity running for {BULK_SECONDS:.0f} s (memory)")


def _rates(
    results: Results,
    stack: Stack,
    bare_port: int,
    bare_pid: int,
    generator: Generator,
    sampler: RssSampler,
) -> None:
    say = lambda line: results.say(SECTION, line)  # noqa: E731
    bare_url = f"http://127.0.0.1:{bare_port}/bare"
    ingest_url = f"{stack.ingest.url}/api/zoho/webhooks/invoices"
    headers = {"X-TDS-Webhook-Token": WEBHOOK_SECRET}
    warm = generator.drive(ingest_url, invoice_webhook, 50, 2, first=10**9, headers=headers)
    asyncio.run(_delays(stack.database_url, 10**9, warm.sent, warm.accepted))
    say(
        f"{generator.name} generator, open loop, {SECONDS:.0f} s per rate, {ROUNDS} rounds of "
        f"the rates; invoice webhooks with 4 line items"
    )
    say(
        f"{'offered/s':>9} {'bare acc/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'ingest acc/s':>12} "
        f"{'p50 ms':>7} {'p99 ms':>7} | {'rows':>6} {'row p50 ms':>10} {'row p99 ms':>10} "
        f"{'drain s':>7} {'load':>5}"
    )
    plot: dict[str, list[float]] = {"x": [], **{column: [] for column in PLOTTED}}
    meter = CpuMeter(
        {
            stack.ingest.process.pid: "ingest",
            stack.processor.process.pid: "processor",
            stack.proxy.process.pid: "zoho-proxy",
            stack.bulk_sync.process.pid: "bulk-sync",
            stack.sim.process.pid: "simulator",
            bare_pid: "bare endpoint",
        }
    )
    first = 0
    points: dict[int, list[tuple[float, float, float, float]]] = {}
    for round_ in range(ROUNDS):
        for rate in RATES:
            point, sustained = _one_rate(
                results, stack, generator, sampler, meter, bare_url, rate, first, round_
            )
            first += SENT_PER_RATE_ROOM
            points.setdefault(rate, []).append(point)
            if not sustained:
                break
    for rate, values in points.items():  # the plot: each figure's median over the rounds
        plot["x"].append(rate)
        for column, series in zip(PLOTTED, zip(*values, strict=True), strict=True):
            plot[column].append(statistics.median(series))
    results.series["latency_vs_rate:latency vs offered rate (ingest → Kafka → processor)"] = plot


def _one_rate(
    results: Results,
    stack: Stack,
    generator: Generator,
    sampler: RssSampler,
    meter: CpuMeter,
    bare_url: str,
    rate: int,
    first: int,
    round_: int,
) -> tuple[tuple[float, float, float, float], bool]:
    """One rate: the bare endpoint, then ingest; the figures recorded, the plotted ones returned
    (in :data:`PLOTTED`'s order), and whether the bare endpoint sustained it."""
    say = lambda line: results.say(SECTION, line)  # noqa: E731
    drive, database_url = generator.drive, stack.database_url
    headers = {"X-TDS-Webhook-Token": WEBHOOK_SECRET}
    ingest_url = f"{stack.ingest.url}/api/zoho/webhooks/invoices"
    base = drive(bare_url, invoice_webhook, rate, SECONDS)
    profiled = _profiled(stack, rate) if round_ == 0 else contextlib.nullcontext()
    with sampler.phase(f"{rate}/s"), meter.phase() as cpu, profiled:
        load = drive(ingest_url, invoice_webhook, rate, SECONDS, first=first, headers=headers)
        delays, rows, drain = asyncio.run(_delays(database_url, first, load.sent, load.accepted))
    r50, r99 = _percentile(delays.total, 50), _percentile(delays.total, 99)
    say(
        f"{rate:>9} {base.accepted_rate:>10.0f} {base.percentile(50) * 1e3:>7.1f} "
        f"{base.percentile(99) * 1e3:>7.1f} | {load.accepted_rate:>12.0f} "
        f"{load.percentile(50) * 1e3:>7.1f} {load.percentile(99) * 1e3:>7.1f} | {rows:>6} "
        f"{r50 * 1e3:>10.1f} {r99 * 1e3:>10.1f} {drain:>7.1f} {os.getloadavg()[0]:>5.1f}"
    )
    _cpu_and_parts(results, rate, cpu, load, delays)
    if load.errors or base.errors:
        say(f"    errors: ingest {load.errors}, bare {base.errors}")
    if load.late_sends or base.late_sends:
        say(
            f"    generator behind schedule by >10 ms: ingest {load.late_sends}, "
            f"bare {base.late_sends} sends"
        )
    section = "end to end"
    ratio = load.accepted_rate / max(base.accepted_rate, 1e-9)
    results.add(section, f"ingest accepted/s ÷ bare FastAPI accepted/s at {rate}/s", ratio, "ratio")
    results.add(
        section, f"ingest HTTP p99 at {rate}/s", load.percentile(99) * 1e3, "ms", better="lower"
    )
    results.add(
        section,
        f"bare FastAPI HTTP p99 at {rate}/s",
        base.percentile(99) * 1e3,
        "ms",
        better="lower",
    )
    results.add(
        section,
        f"webhook accepted → row written p99 at {rate}/s",
        r99 * 1e3,
        "ms",
        better="lower",
        target="<= 100" if rate == 500 else "",
    )
    results.add(
        section,
        f"rows written ÷ webhooks accepted at {rate}/s",
        rows / max(1, load.accepted),
        "ratio",
    )
    sustained = base.accepted_rate >= SUSTAINED_SHARE * rate or rate == RATES[-1]
    if not sustained:
        say(
            f"    the bare endpoint took {base.accepted_rate:.0f}/s of the {rate}/s offered: "
            f"this machine sustains less than {rate}/s, higher rates skipped"
        )
    point = (load.percentile(99) * 1e3, base.percentile(99) * 1e3, r50 * 1e3, r99 * 1e3)
    return point, sustained


@contextmanager
def _profiled(stack: Stack, rate: int) -> Iterator[None]:
    """py-spy on ingest and the processor for the block, when ``BENCH_E2E_PROFILE`` is set."""
    if not PROFILE_DIR:
        yield
        return
    folder = Path(PROFILE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),  # the dev group's, beside python
                *("record", "--format", "raw", "--rate", "250", "--nonblocking"),
                *("--pid", str(service.process.pid)),
                *("--output", str(folder / f"{service.name}-{rate}.txt")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for service in (stack.ingest, stack.processor)
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in spies:
            spy.wait(30)


def _cpu_and_parts(results: Results, rate: int, cpu: CpuUse, load: Outcome, delays: Delays) -> None:
    """Where a rate's CPU went (per event, per component) and where its rows' delay went."""
    spent = dict(cpu.seconds)
    if load.generator_cpu == load.generator_cpu:  # not NaN: the generator measured itself
        # vegeta starts and ends inside the phase, where the meter cannot see it.
        spent["load generator"] = spent.get("load generator", 0.0) + load.generator_cpu
    per_event = {c: s / max(1, load.accepted) * 1e3 for c, s in sorted(spent.items())}
    busy = sum(spent.values()) / load.seconds if load.seconds else float("nan")
    results.say(
        SECTION,
        "    CPU ms per event: "
        + ", ".join(f"{c} {ms:.2f}" for c, ms in per_event.items())
        + f"; {busy:.2f} of {os.cpu_count()} cores busy during the load",
    )
    parts = {"to the processor": delays.to_processor, "in the processor": delays.in_processor}
    results.say(
        SECTION,
        "    row delay parts (p50/p99 ms): "
        + ", ".join(
            f"{name} {_percentile(v, 50) * 1e3:.0f}/{_percentile(v, 99) * 1e3:.0f}"
            for name, v in parts.items()
        ),
    )
    for component in REPORTED_CPU:
        results.add(
            "end to end",
            f"CPU per event at {rate}/s: {component}",
            per_event.get(component, 0.0),
            "ms",
            better="lower",
        )
    results.add("end to end", f"cores busy at {rate}/s", busy, "cores", better="lower")
    for name, values in parts.items():
        results.add(
            "end to end",
            f"webhook → row p99 at {rate}/s: {name}",
            _percentile(values, 99) * 1e3,
            "ms",
            better="lower",
        )


def _memory(results: Results, sampler: RssSampler) -> None:
    results.say(
        SECTION,
        "peak RSS (MB): "
        + "; ".join(
            f"{phase}: " + ", ".join(f"{s} {mb:.0f}" for s, mb in peaks.items())
            for phase, peaks in sampler.peaks.items()
        ),
    )
    for service in sampler.peaks["idle"]:
        idle = sampler.peaks["idle"][service]
        loaded = max(peaks[service] for phase, peaks in sampler.peaks.items() if phase != "idle")
        results.add(
            "memory",
            f"{service} peak RSS idle",
            idle,
            "MB",
            better="lower",
            target=f"<= {RSS_LIMIT_MB}",
        )
        results.add(
            "memory",
            f"{service} peak RSS under load",
            loaded,
            "MB",
            better="lower",
            target=f"<= {RSS_LIMIT_MB}",
        )
        results.series.setdefault("rss:peak RSS per service", {"x": [0, 1]})[service] = [
            idle,
            loaded,
        ]
