"""Where a phase's CPU went: seconds per component (each service, Kafka, PostgreSQL, the rest).

On two shared cores a latency is often a queue for the CPU, not slowness of the step it is
charged to; the CPU each component spent per event says which one to make cheaper, and the
cores busy in total say whether the machine itself was the limit. Processes are read from
``/proc`` (psutil) at the start and end of the phase: one that exits during it loses its share
(short-lived PostgreSQL backends), which makes the figures a little low, never high.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

Classify = Callable[[psutil.Process], str | None]


def _kafka_or_postgres(process: psutil.Process) -> str | None:
    try:
        if process.name() in ("postgres", "postgres.real"):
            return "postgresql"
        if "kafka.Kafka" in process.cmdline():
            return "kafka"
    except psutil.Error:
        return None
    return None


@dataclass
class CpuUse:
    seconds: dict[str, float]
    """CPU seconds (user + system) per component over the phase."""
    wall: float

    @property
    def cores_busy(self) -> float:
        return sum(self.seconds.values()) / self.wall if self.wall else 0.0


@dataclass
class CpuMeter:
    """CPU per component: named processes by pid, Kafka and PostgreSQL found by name, and any
    other process of ours (the load generators, this bench) as ``other``."""

    named: dict[int, str]
    classify: Classify = _kafka_or_postgres
    _cache: dict[int, tuple[psutil.Process, str]] = field(default_factory=dict)

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        seen: dict[int, tuple[str, float]] = {}
        for process in psutil.process_iter():
            pid = process.pid
            cached = self._cache.get(pid)
            if cached is None or cached[0] != process:  # a new process, or a reused pid
                component = self.named.get(pid) or self.classify(process) or "other"
                cached = (process, component)
                self._cache[pid] = cached
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seen[pid] = (cached[1], times.user + times.system)
        return seen

    @contextmanager
    def phase(self) -> Iterator[CpuUse]:
        """CPU per component between entering and leaving; filled in on leaving."""
        use = CpuUse({}, 0.0)
        before, started = self._snapshot(), time.monotonic()
        try:
            yield use
        finally:
            after, use.wall = self._snapshot(), time.monotonic() - started
            for pid, (component, seconds) in after.items():
                spent = seconds - before.get(pid, (component, 0.0))[1]
                use.seconds[component] = use.seconds.get(component, 0.0) + max(0.0, spent)
