"""The compiled generator: vegeta (``make vegeta`` builds the pinned version into .local/bin).

One Go process sends every request, on vegeta's constant pacer: request i (vegeta's ``seq``)
leaves ``(i + 1) / rate`` after the attack began, whatever the answers' latency (open loop). With
``-max-workers`` high, a request finds a free worker (a goroutine with its own keep-alive
connection) or vegeta starts one, so a slow server never holds a send back; what can still hold
one back is the generator itself not getting the CPU on time. vegeta stamps each result with the
time the request actually left and measures latency from there, which would hide that wait
(coordinated omission), so the results are put back on the schedule here: the schedule's origin
is the earliest ``timestamp - (seq + 1) / rate`` over the results (no send leaves early), a
send's lateness is its distance from that schedule, and its latency counts from its scheduled
time, as the Python generator measures it.

Every body is built and base64-encoded into the targets file before the attack, and vegeta reads
the whole file before its first send (not ``-lazy``): building bodies costs no time inside the
schedule. Results go to vegeta's binary file during the attack and are decoded to CSV after it.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

from bench.loadgen.outcome import LATE_SECONDS, Body, Outcome

REPO_ROOT = Path(__file__).resolve().parents[2]
VEGETA = REPO_ROOT / ".local" / "bin" / "vegeta"
MAX_WORKERS = 4096
"""Concurrent requests at most (each a goroutine and a connection): far above what the bench's
rates need with answers in milliseconds (500/s at 20 ms is 10), so no send waits for a worker;
a bound all the same, so a stalled server meets thousands of connections, not the file limit.
Beyond it sends queue in the pacer and show up as late sends."""
TIMEOUT = "30s"
SPARE_TARGETS = 2
"""Targets written beyond rate * seconds: vegeta cycles through its targets, so a send beyond
the planned count (a rounding of the pacer's interval) must not repeat request 0's body."""


def find_vegeta() -> Path | None:
    """The project's vegeta (``make vegeta``), else one on PATH, else None."""
    if os.access(VEGETA, os.X_OK):
        return VEGETA
    found = shutil.which("vegeta")
    return Path(found) if found else None


def pacing(rate: float) -> tuple[str, int]:
    """vegeta's ``-rate`` for ``rate`` requests/s, and the interval between sends it gives in
    nanoseconds (vegeta divides its period by its count in integer nanoseconds)."""
    exact = Fraction(rate).limit_denominator(1000)
    count, per_seconds = exact.numerator, exact.denominator
    return f"{count}/{per_seconds}s", per_seconds * 10**9 // count


def write_targets(
    path: Path, url: str, body: Body, numbers: range, headers: dict[str, str]
) -> None:
    """One JSON target a line (vegeta's ``-format=json``): POST, the headers, the body base64."""
    header = {name: [value] for name, value in headers.items()}
    # Only the body differs from line to line, and base64 needs no JSON escaping: the rest of the
    # line is encoded once (about half the CPU of encoding each line whole).
    start = json.dumps({"method": "POST", "url": url, "header": header})[:-1] + ', "body": "'
    with path.open("w") as out:
        for number in numbers:
            data = base64.b64encode(json.dumps(body(number)).encode()).decode()
            out.write(f'{start}{data}"}}\n')


def _error_key(code: int, error: str) -> str:
    """A non-2xx answer by its status; a request with no answer by the end of the client's
    error (``Post "<url>": dial tcp ...: connection refused`` → ``connection refused``)."""
    if code:
        return str(code)
    return error.rsplit(": ", 1)[-1] or "no answer"


def read_results(lines: list[list[str]], rate: float, interval_ns: int) -> Outcome:
    """The outcome of one attack from ``vegeta encode -to csv`` rows: timestamp (Unix ns), code,
    latency (ns), bytes out, bytes in, error, body, attack, seq, method, url, headers."""
    outcome = Outcome(rate, sent=len(lines))
    if not lines:
        return outcome
    rows = [(int(r[8]), int(r[0]), int(r[2]), int(r[1]), r[5]) for r in lines]
    origin = min(left - (seq + 1) * interval_ns for seq, left, _, _, _ in rows)
    last_answer = 0
    for seq, left, latency, code, error in rows:
        late = left - origin - (seq + 1) * interval_ns
        if late > LATE_SECONDS * 1e9:
            outcome.late_sends += 1
        last_answer = max(last_answer, left + latency)
        if code:
            outcome.latencies.append((late + latency) / 1e9)
        if 200 <= code < 300:
            outcome.accepted += 1
        else:
            key = _error_key(code, error)
            outcome.errors[key] = outcome.errors.get(key, 0) + 1
    outcome.seconds = (last_answer - (origin + interval_ns)) / 1e9
    return outcome


class Vegeta:
    """Drives each rate with one ``vegeta attack`` process."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.name = f"vegeta ({binary})"
        self._folder = Path(tempfile.mkdtemp(prefix="tds-vegeta-"))

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

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
        total = int(rate * seconds)
        rate_flag, interval_ns = pacing(rate)
        targets, results = self._folder / "targets.jsonl", self._folder / "results.bin"
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        write_targets(targets, url, body, range(first, first + total + SPARE_TARGETS), all_headers)
        # Send i leaves at (i + 1) intervals and the attack stops at the first send after the
        # duration: a duration of exactly `total` intervals makes the last send number total - 1.
        attack = [
            *(str(self.binary), "attack", "-format=json", f"-targets={targets}"),
            *(f"-rate={rate_flag}", f"-duration={total * interval_ns}ns"),
            *("-http2=false", "-keepalive=true", "-max-body=0", f"-timeout={TIMEOUT}"),
            *(f"-max-workers={MAX_WORKERS}", f"-output={results}"),
        ]
        cpu = _run_measured(attack)
        encoded = subprocess.run(
            [str(self.binary), "encode", "-to=csv", str(results)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        outcome = read_results(list(csv.reader(encoded.splitlines())), rate, interval_ns)
        outcome.generator_cpu = cpu
        return outcome


def _run_measured(command: list[str]) -> float:
    """Run to the end; the CPU seconds (user + system) the process spent, from the kernel's
    accounting when it is reaped (the process is gone before anything could read /proc)."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if process.returncode:
            stderr.seek(0)
            raise RuntimeError(
                f"vegeta attack exited {process.returncode}: {stderr.read().decode().strip()}"
            )
    return usage.ru_utime + usage.ru_stime
