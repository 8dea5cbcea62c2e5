"""Incremental runs across New York's fall-back hour: edits stamped 01:55-0400 and then, fifteen
minutes later, 01:10-0500. As text the later one sorts first; every decision (the filter sent to
Zoho, the cursor, the high-water mark, the mirror's version) must follow the instant.

The simulator's clock is moved to November 2027 here, so this module has a simulator of its own,
whose access tokens outlive the jump (the proxy's clock does not move)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tds_common.events import parse_zoho_timestamp
from tests.utils.zoho import proxy_settings, sim_settings, unique_refresh_token
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

from .conftest import ORGS, SCALE, MakeBulk
from .helpers import BulkSync, Zoho

FALL_BACK = datetime(2027, 11, 7, 6, 0, tzinfo=UTC).timestamp()
"""01:59:59-0400 is followed by 01:00:00-0500."""


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    refresh_token = unique_refresh_token()
    sim = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org, daily_quota=10**7) for org in ORGS],
        scale=SCALE,
        limits=LimitSettings(per_minute=10**6),
        oauth={"access_token_lifetime_seconds": 10 * 365 * 86400},
    )
    with run_in_thread(sim) as sim_url:
        settings = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh_token,
            zoho_organization_id=ORGS[0],
            per_minute_limit=10**6,
            daily_limit=10**7,
        )
        with serve_app_in_thread(create_proxy_app(settings)) as proxy_url:
            yield Zoho(sim_url, proxy_url)


async def _clock_to(bulk: BulkSync, epoch: float) -> None:
    offset = (await bulk.zoho.sim("POST", "/_sim/clock", {"advance_seconds": 0}))["offset_seconds"]
    await bulk.zoho.sim("POST", "/_sim/clock", {"advance_seconds": epoch - time.time() - offset})


async def _incremental(bulk: BulkSync) -> dict[str, Any]:
    run = (await bulk.sync(mode="incremental", entities=["customers"]))[0]
    assert run["status"] == "completed", run
    return run


async def test_incremental_runs_follow_instants_across_the_fall_back_hour(
    make_bulk: MakeBulk,
) -> None:
    # The simulator runs a year ahead of this machine: allow such versions.
    async with make_bulk(max_version_skew_seconds=3 * 365 * 86400) as bulk:
        await _dst_runs(bulk)


async def _dst_runs(bulk: BulkSync) -> None:
    full = (await bulk.sync(mode="full", entities=["customers"]))[0]
    assert full["status"] == "completed"
    ids = sorted(await bulk.zoho.index(bulk.org, "customers"))

    await _clock_to(bulk, FALL_BACK - 300)  # 01:55 EDT
    first = await bulk.zoho.edit(bulk.org, "customers", ids[0], {"phone": "+1-555-0001"})
    assert first["last_modified_time"].startswith("2027-11-07T01:5")
    assert first["last_modified_time"].endswith("-0400")
    run = await _incremental(bulk)
    high = run["checkpoint"]["customers"]["high_water"]
    assert datetime.fromisoformat(high) == parse_zoho_timestamp(first["last_modified_time"])

    await _clock_to(bulk, FALL_BACK + 600)  # 01:10 EST, fifteen minutes later
    second = await bulk.zoho.edit(bulk.org, "customers", ids[1], {"phone": "+1-555-0002"})
    assert second["last_modified_time"].startswith("2027-11-07T01:1")
    assert second["last_modified_time"].endswith("-0500")
    assert second["last_modified_time"] < first["last_modified_time"]  # as text: "earlier"

    run = await _incremental(bulk)
    state = run["checkpoint"]["customers"]
    assert datetime.fromisoformat(state["since"]) == parse_zoho_timestamp(
        first["last_modified_time"]
    )
    assert datetime.fromisoformat(state["high_water"]) == parse_zoho_timestamp(
        second["last_modified_time"]
    )
    rows = await bulk.rows("customers", "contact_id")
    assert rows[ids[1]]["phone"] == "+1-555-0002"
    assert rows[ids[1]]["zoho_last_modified_time"] == parse_zoho_timestamp(
        second["last_modified_time"]
    )
    assert rows[ids[0]]["zoho_last_modified_time"] < rows[ids[1]]["zoho_last_modified_time"]

    # The next run starts at the newer instant (the database's max over instants, not text).
    again = await _incremental(bulk)
    assert datetime.fromisoformat(again["checkpoint"]["customers"]["since"]) == (
        parse_zoho_timestamp(second["last_modified_time"])
    )
    assert again["total_items"] <= 1  # at most the record at the boundary itself
