"""``python -m bench.loadgen``: each generator's own CPU per request and the bare endpoint's
latency under it, the generators alternating round by round on the same machine.

The bench's bare FastAPI endpoint (:func:`bench.bench_e2e.serve_bare`) takes the bench's invoice
webhooks at ``BENCH_LOADGEN_RATE`` (500) requests/s for ``BENCH_LOADGEN_SECONDS`` (8) per drive,
``BENCH_LOADGEN_ROUNDS`` (3) rounds of the Python generator then vegeta. Printed per drive: the
generator's CPU ms per request (its processes' user + system over the requests sent), the
endpoint's CPU ms per request, accepted/s, p50/p99 from the scheduled send, late sends, and the
1-minute load average (the machine is shared).
"""

from __future__ import annotations

import multiprocessing
import os

import psutil

from bench.bench_e2e import GENERATOR_PROCESSES, invoice_webhook, serve_bare
from bench.loadgen import Generator, Outcome
from tests.conftest import free_port
from tests.utils.polling import wait_ready

RATE = float(os.environ.get("BENCH_LOADGEN_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_LOADGEN_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_LOADGEN_ROUNDS", "3"))


def _line(round_: int, engine: str, outcome: Outcome, server_cpu: float) -> str:
    sent = max(1, outcome.sent)
    return (
        f"{round_:>5} {engine:>7} {outcome.generator_cpu / sent * 1e3:>10.3f} "
        f"{server_cpu / sent * 1e3:>9.3f} {outcome.accepted_rate:>7.0f} "
        f"{outcome.percentile(50) * 1e3:>7.2f} {outcome.percentile(99) * 1e3:>7.2f} "
        f"{outcome.late_sends:>5} {os.getloadavg()[0]:>5.2f}"
        + (f"  errors {outcome.errors}" if outcome.errors else "")
    )


def main() -> None:
    port = free_port()
    bare = multiprocessing.get_context("spawn").Process(
        target=serve_bare, args=(port,), daemon=True
    )
    bare.start()
    generators = {
        "python": Generator(GENERATOR_PROCESSES, invoice_webhook, engine="python"),
        "vegeta": Generator(GENERATOR_PROCESSES, invoice_webhook, engine="vegeta"),
    }
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready", what="the bare endpoint")
        server = psutil.Process(bare.pid)
        url = f"http://127.0.0.1:{port}/bare"
        for engine, generator in generators.items():  # warm: connections, caches, imports
            generator.drive(url, invoice_webhook, 50, 1)
            print(f"{engine}: {generator.name}")
        print(f"{RATE:.0f} requests/s for {SECONDS:.0f} s per drive against the bare endpoint")
        print(
            f"{'round':>5} {'engine':>7} {'gen ms/req':>10} {'srv ms/req':>9} {'acc/s':>7} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'late':>5} {'load':>5}"
        )
        first = 10**6
        for round_ in range(1, ROUNDS + 1):
            for engine, generator in generators.items():
                before = sum(server.cpu_times()[:2])
                outcome = generator.drive(url, invoice_webhook, RATE, SECONDS, first=first)
                server_cpu = sum(server.cpu_times()[:2]) - before
                first += outcome.sent
                print(_line(round_, engine, outcome, server_cpu), flush=True)
    finally:
        for generator in generators.values():
            generator.close()
        bare.terminate()
        bare.join(10)


if __name__ == "__main__":
    main()
