"""What one ``make bench`` run measured: ratios with their rounds, series for the plots.

Every bench module gets the run's :class:`Results` and records into it; ``bench/__main__.py``
writes them to ``bench/results/<date>.json`` and renders ``bench/REPORT.md`` from them.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import psutil


@dataclass
class Metric:
    """One figure, measured once per round (a ratio, a rate, a latency, a size)."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""
    """What the issue asks for, as text (``>= 0.5``), empty when nothing is asked."""
    better: Literal["higher", "lower"] = "higher"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> tuple[float, float]:
        return (min(self.values), max(self.values)) if self.values else (float("nan"),) * 2

    def met(self) -> bool | None:
        """Whether the median meets the target (None when there is none or it is not numeric)."""
        if not self.target or not self.values:
            return None
        operator, _, number = self.target.partition(" ")
        try:
            bound = float(number)
        except ValueError:
            return None
        return self.median >= bound if operator == ">=" else self.median <= bound


@dataclass
class Results:
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    machine: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    series: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Named plot data: for each series name, columns of equal length (x and y values)."""
    notes: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    """Per bench module: the lines it printed (kept for the report's details)."""
    module_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each bench module, in the order they ran (where a run's time goes)."""
    module_load: dict[str, float] = field(default_factory=dict)
    """The machine's 1-minute load average as each module ended (it is shared)."""

    def metric(self, section: str, name: str, unit: str, **options: Any) -> Metric:
        key = f"{section}: {name}"
        if key not in self.metrics:
            self.metrics[key] = Metric(key, unit, **options)
        return self.metrics[key]

    def add(self, section: str, name: str, value: float, unit: str, **options: Any) -> None:
        self.metric(section, name, unit, **options).values.append(float(value))

    def say(self, section: str, line: str) -> None:
        print(line, flush=True)
        self.sections.setdefault(section, []).append(line)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, metric in self.metrics.items():
            data["metrics"][key].update(median=metric.median, spread=list(metric.spread))
        return data


def describe_machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was (the machine is shared)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "postgresql": _version(["postgres", "--version"]),
    }


def _version(command: list[str]) -> str:
    from devstack import postgres as devpg

    try:
        binary = devpg.embedded_bin_dir() / command[0]
        done = subprocess.run(
            [str(binary), *command[1:]], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()
    except Exception:  # the report is still useful without it
        return "unknown"
