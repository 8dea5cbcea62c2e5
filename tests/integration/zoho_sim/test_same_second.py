"""Two edits in one second: Zoho stamps ``last_modified_time`` to the second, so they share it.

The simulator's clock is frozen here (``Clock.wall``), so "the same second" does not depend on
how fast the test runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from zoho_sim.clock import Clock
from zoho_sim.timefmt import to_epoch

from .helpers import ORG, SimClient


@pytest.fixture(name="frozen_clock")
def fixture_frozen_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    frozen = float(int(time.time()))
    monkeypatch.setattr(Clock, "wall", lambda self: frozen + self.offset)
    return frozen


def _edit(sim: SimClient, path: str, notes: str, **params: str) -> str:
    record = sim.control("PATCH", path, params=params, json={"notes": notes})["record"]
    stamp: str = record["last_modified_time"]
    return stamp


def _contact_path(sim: SimClient) -> str:
    contact_id = sim.ok("/contacts", per_page=1)["contacts"][0]["contact_id"]
    return f"/orgs/{ORG}/contacts/{contact_id}"


def test_by_default_every_edit_moves_the_version_on_unless_it_asks_for_the_same_second(
    custom_sim: Callable[..., SimClient], frozen_clock: float
) -> None:
    sim = custom_sim()
    path = _contact_path(sim)
    first = _edit(sim, path, "one")
    second = _edit(sim, path, "two")
    assert to_epoch(second) == to_epoch(first) + 1  # frozen clock, still one second on
    third = _edit(sim, path, "three", same_second="true")
    assert third == second
    assert sim.control("GET", path)["notes"] == "three"


def test_same_second_edits_share_the_clock_second_until_it_moves(
    custom_sim: Callable[..., SimClient], frozen_clock: float
) -> None:
    sim = custom_sim(same_second_edits=True)
    path = _contact_path(sim)
    first = _edit(sim, path, "one")
    assert to_epoch(first) == frozen_clock
    assert _edit(sim, path, "two") == first
    sim.control("POST", "/clock", json={"advance_seconds": 1})
    assert to_epoch(_edit(sim, path, "three")) == frozen_clock + 1
