"""``python -m bench [name ...]``: run every ``bench/bench_*.py`` module (or the named ones),
then write ``bench/results/<date>.json`` and ``bench/REPORT.md``.

A module's ``run(results)`` records into the shared :class:`bench.results.Results`; one that only
has ``main()`` prints its figures and keeps them out of the report. The local PostgreSQL and
Kafka are the tests' shared servers (``tests.utils.stack``): started if none runs, left running
for others. ``BENCH_NO_REPORT=1`` runs without writing the report (for trying one module).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import os
import pkgutil
import signal
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.results import Results, describe_machine
from tests.utils.kafka import CREATED_TOPICS, delete_topics
from tests.utils.stack import shared_stack

SHARED_MACHINE_NOTE = (
    "Measured on a shared machine: other work (test suites, other builds) ran alongside, so "
    "absolute rates move from run to run. Every ratio pairs a figure with its baseline measured "
    "in the same run (and the same round where they alternate), which damps that noise; the "
    "spread column shows what remains."
)


MODULE_LIMIT_SECONDS = int(os.environ.get("BENCH_MODULE_LIMIT_SECONDS", "480"))
"""A module still running after this long is stopped and reported as failed (a hung bench must
not hold the whole run)."""


def _too_long(signum: int, frame: object) -> None:
    raise TimeoutError(f"the module ran over BENCH_MODULE_LIMIT_SECONDS ({MODULE_LIMIT_SECONDS})")


class _Tee(io.TextIOBase):
    """Copies what a main()-only module prints into its report section."""

    def __init__(self, results: Results, section: str) -> None:
        self._results, self._section, self._line = results, section, ""
        self._out = sys.stdout  # the terminal, before the redirect

    def write(self, text: str) -> int:
        self._out.write(text)
        self._line += text
        *complete, self._line = self._line.split("\n")
        self._results.sections.setdefault(self._section, []).extend(complete)
        return len(text)


def main() -> int:
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    selected = [n for n in names if not sys.argv[1:] or n.removeprefix("bench_") in sys.argv[1:]]
    if not selected:
        print("no benchmarks yet")
        return 0
    results = Results(machine=describe_machine(), notes=[SHARED_MACHINE_NOTE])
    failures: list[str] = []
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _too_long)
    with shared_stack() as stack:
        os.environ.setdefault("TDS_BENCH_DATABASE_URL", stack.postgres_admin_url)
        os.environ.setdefault("TDS_BENCH_KAFKA_BOOTSTRAP", stack.kafka_bootstrap)
        os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", stack.kafka_bootstrap)
        for name in selected:
            print(f"== {name}", flush=True)
            began = time.monotonic()  # its imports count: a module's start is part of its cost
            module = importlib.import_module(f"bench.{name}")
            signal.alarm(MODULE_LIMIT_SECONDS)
            try:
                if hasattr(module, "run_bench"):
                    module.run_bench(results)
                else:
                    with contextlib.redirect_stdout(_Tee(results, name)):
                        module.main()
            except Exception:  # one broken bench must not cost the others' figures
                failures.append(name)
                results.notes.append(f"{name} FAILED, its figures are missing or partial:")
                results.notes.append(traceback.format_exc(limit=3).strip().replace("\n", " / "))
                traceback.print_exc()
            finally:
                signal.alarm(0)
            results.module_seconds[name] = round(time.monotonic() - began, 1)
            results.module_load[name] = round(os.getloadavg()[0], 2)
            print(f"   ({results.module_seconds[name]:.0f} s)", flush=True)
        # The benches' topics (100,000 dead letters among them) would otherwise stay on the
        # shared broker, which opens slower with every partition it keeps.
        asyncio.run(delete_topics(stack.kafka_bootstrap, CREATED_TOPICS))
    results.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not os.environ.get("BENCH_NO_REPORT"):
        path = report.write(results, time.monotonic() - started)
        print(f"wrote {path} and bench/REPORT.md")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
