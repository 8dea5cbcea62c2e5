"""Open-loop HTTP load for the end-to-end bench, from a generator that is not the bottleneck.

Two generators behind one interface (:class:`Generator`): vegeta, compiled (``make vegeta``,
which ``make bench`` builds), and a Python one in several processes (aiohttp), the fallback when
vegeta is not built. Both send on a fixed schedule whatever the answers' latency and count
latency from the scheduled send, so neither a slow server nor a slow generator can hide. On the
bench's two cores the generator shares the CPU with the services it measures, so its own CPU
per request matters: bench/README.md has both measured (``python -m bench.loadgen``).
``BENCH_LOADGEN=vegeta|python`` picks one; unset, vegeta when it is built.
"""

from __future__ import annotations

import os
import sys

from bench.loadgen.aiohttp_pool import AiohttpPool
from bench.loadgen.outcome import Body, Outcome
from bench.loadgen.vegeta import Vegeta, find_vegeta

__all__ = ["Body", "Generator", "Outcome"]


class Generator:
    """The chosen generator, started once and reused for every drive."""

    def __init__(self, processes: int, body: Body, *, engine: str | None = None) -> None:
        """``processes`` and ``body`` are the Python generator's (its worker processes, the
        body's module imported in each); vegeta is one process and needs neither."""
        engine = engine or os.environ.get("BENCH_LOADGEN") or ""
        if engine not in ("", "vegeta", "python"):
            raise ValueError(f"BENCH_LOADGEN={engine!r}: vegeta or python")
        binary = find_vegeta() if engine != "python" else None
        if engine == "vegeta" and binary is None:
            raise RuntimeError("vegeta is not built: make vegeta")
        self._engine: Vegeta | AiohttpPool
        if binary is not None:
            self._engine = Vegeta(binary)
        else:
            if not engine:
                print(
                    "vegeta is not built (make vegeta): the Python generator drives",
                    file=sys.stderr,
                )
            self._engine = AiohttpPool(processes, body)

    @property
    def name(self) -> str:
        """Which generator drives, for the report."""
        return self._engine.name

    def close(self) -> None:
        self._engine.close()

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
        """Offer ``rate`` requests/s for ``seconds``; request numbers run from ``first``
        (``first + sent - 1`` the last, ``sent`` about ``rate * seconds``). ``body`` must be
        picklable (a module-level function)."""
        return self._engine.drive(url, body, rate, seconds, first=first, headers=headers)
