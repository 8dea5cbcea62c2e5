"""bench.loadgen.vegeta: the targets vegeta sends, its pacing, and its results put back on the
schedule (a send that left late counts from when it should have left)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bench.loadgen.vegeta import pacing, read_results, write_targets

MS = 1_000_000
ORIGIN = 1_800_000_000 * 10**9  # the attack's start, Unix ns


def _row(seq: int, left: int, latency: int, code: int, error: str = "") -> list[str]:
    """A ``vegeta encode -to csv`` row: timestamp, code, latency, bytes out, bytes in, error,
    body, attack, seq, method, url, headers."""
    return [str(left), str(code), str(latency), "2048", "0", error, "", "", str(seq), "POST",
            "http://127.0.0.1:1/bare", ""]  # fmt: skip


def _body(number: int) -> dict[str, Any]:
    return {"invoice": {"invoice_id": str(number)}}


@pytest.mark.parametrize(
    ("rate", "flag", "interval_ns"),
    [(500, "500/1s", 2 * MS), (0.5, "1/2s", 2 * 10**9), (333.5, "667/2s", 2 * 10**9 // 667)],
)
def test_the_rate_flag_and_the_interval_vegeta_paces_with(
    rate: float, flag: str, interval_ns: int
) -> None:
    assert pacing(rate) == (flag, interval_ns)


def test_each_target_is_a_post_of_its_numbers_body_with_the_headers(tmp_path: Path) -> None:
    path = tmp_path / "targets.jsonl"
    headers = {"Content-Type": "application/json", "X-TDS-Webhook-Token": "t"}
    write_targets(path, "http://h/x", _body, range(7, 10), headers)
    targets = [json.loads(line) for line in path.read_text().splitlines()]
    assert [json.loads(base64.b64decode(t["body"])) for t in targets] == [
        _body(n) for n in (7, 8, 9)
    ]
    assert {t["method"] for t in targets} == {"POST"}
    assert {t["url"] for t in targets} == {"http://h/x"}
    assert targets[0]["header"] == {name: [value] for name, value in headers.items()}


def test_latency_counts_from_the_scheduled_send_and_late_sends_are_counted() -> None:
    # 500/s: send i is due at ORIGIN + (i + 1) * 2 ms. Results arrive in completion order.
    rows = [
        _row(1, ORIGIN + 4 * MS + 15 * MS, 1 * MS, 200),  # left 15 ms late
        _row(0, ORIGIN + 2 * MS, 1 * MS, 200),  # on time: the schedule's origin
        _row(2, ORIGIN + 6 * MS + MS // 2, 3 * MS, 503),  # half a millisecond late: on time
        _row(3, ORIGIN + 8 * MS, 0, 0, 'Post "http://127.0.0.1:1/bare": dial tcp: refused'),
    ]
    outcome = read_results(rows, 500, 2 * MS)
    assert outcome.sent == 4
    assert outcome.accepted == 2
    assert outcome.late_sends == 1
    assert sorted(round(s * 1e3, 3) for s in outcome.latencies) == [1.0, 3.5, 16.0]
    assert outcome.errors == {"503": 1, "refused": 1}
    # first scheduled send (2 ms) to the last answer (send 1's, at 4 + 15 + 1 ms)
    assert outcome.seconds == pytest.approx(0.018)


def test_a_generator_late_from_its_first_send_on_is_on_its_own_schedule() -> None:
    # Every send 20 ms after vegeta's nominal start: the schedule shifts, nothing is late.
    rows = [_row(i, ORIGIN + 20 * MS + (i + 1) * 2 * MS, MS, 200) for i in range(5)]
    outcome = read_results(rows, 500, 2 * MS)
    assert outcome.late_sends == 0
    assert outcome.latencies == [0.001] * 5
    assert outcome.accepted_rate == pytest.approx(5 / 0.009)
