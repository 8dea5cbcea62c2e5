"""Time zones with daylight saving time, "active only" list defaults, run-time API settings and
bulk edits that share one second (docs/zoho-api.md#record-conventions, #unconfirmed-behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from zoho_sim.settings import OrgSettings

from .helpers import ORG, SimClient


def _ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def test_timestamps_follow_the_orgs_time_zone_across_daylight_saving(sim: SimClient) -> None:
    """Seeded records span a year: New York writes -0400 in summer and -0500 in winter."""
    ids = sim.all_ids("/contacts", "contacts", "contact_id")
    stamps = []
    page = 1
    while True:
        body = sim.ok("/contacts", page=page, per_page=200, sort_column="last_modified_time")
        stamps += [row["last_modified_time"] for row in body["contacts"]]
        if not body["page_context"]["has_more_page"]:
            break
        page += 1
    assert len(stamps) == len(ids)
    offsets = {stamp[-5:] for stamp in stamps}
    assert offsets == {"-0400", "-0500"}
    for stamp in stamps:
        moment = _ts(stamp)
        july = moment.month in (6, 7, 8)
        january = moment.month in (12, 1, 2)
        assert not (july and stamp.endswith("-0500")) and not (january and stamp.endswith("-0400"))
    # Sorted by the instant, not the string.
    instants = [_ts(s) for s in stamps]
    assert instants == sorted(instants)


def test_edits_are_stamped_with_the_offset_the_zone_has_at_that_instant(sim: SimClient) -> None:
    contact = sim.all_ids("/contacts", "contacts", "contact_id")[0]
    stamps = []
    for _ in range(2):
        edited = sim.control("PATCH", f"/orgs/{ORG}/contacts/{contact}", json={"notes": "x"})
        stamps.append(edited["record"]["last_modified_time"])
        sim.control("POST", "/clock", json={"advance_seconds": 182 * 86400})  # half a year
    for stamp in stamps:
        expected = _ts(stamp).astimezone(ZoneInfo("America/New_York")).strftime("%z")
        assert stamp[-5:] == expected
    assert stamps[0][-5:] != stamps[1][-5:]  # one in daylight saving time, one not


def test_a_fixed_offset_is_still_available(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(organizations=[{"organization_id": ORG, "utc_offset": "+0530"}])
    body = sim.ok("/contacts", per_page=50)
    assert {row["last_modified_time"][-5:] for row in body["contacts"]} == {"+0530"}


def test_an_unknown_time_zone_is_refused() -> None:
    try:
        OrgSettings(time_zone="Mars/Olympus_Mons")
    except ValidationError as exc:
        assert "unknown time zone" in str(exc)
    else:
        raise AssertionError("an unknown time zone was accepted")


def test_lists_can_default_to_active_records_only(sim: SimClient) -> None:
    everyone = sim.all_ids("/items", "items", "item_id")
    sim.control("PUT", "/api", json={"default_lists_active_only": ["items", "contacts"]})
    default = sim.all_ids("/items", "items", "item_id")
    assert 0 < len(default) < len(everyone)
    body = sim.ok("/items", per_page=1)
    assert body["page_context"]["applied_filter"] == "Status.Active"
    assert sim.all_ids("/items", "items", "item_id", filter_by="Status.All") == everyone
    inactive = set(everyone) - set(default)
    assert all(sim.ok(f"/items/{i}")["item"]["status"] == "inactive" for i in inactive)
    # Lists not named keep listing everything; a reset returns to the settings.
    invoices = sim.all_ids("/invoices", "invoices", "invoice_id")
    assert invoices == sim.all_ids("/invoices", "invoices", "invoice_id", filter_by="Status.All")
    sim.reset()
    assert sim.all_ids("/items", "items", "item_id") == everyone


def test_api_settings_change_at_run_time_and_refuse_unknown_fields(sim: SimClient) -> None:
    changed = sim.control("PUT", "/api", json={"last_modified_ignored_for": ["contacts"]})
    assert changed["last_modified_ignored_for"] == ["contacts"]
    assert sim.control("GET", "/api")["last_modified_ignored_for"] == ["contacts"]
    body = sim.ok("/contacts", last_modified_time="2099-01-01T00:00:00-0500")
    assert body["contacts"]  # the filter is ignored
    response = sim.http.put("/_sim/api", json={"no_such_setting": 1})
    assert response.status_code == 422


def test_a_bulk_edit_stamps_every_record_with_one_second(sim: SimClient) -> None:
    ids = sim.all_ids("/contacts", "contacts", "contact_id")[:250]
    result = sim.control(
        "PATCH", f"/orgs/{ORG}/contacts", json={"ids": ids, "fields": {"notes": "imported"}}
    )
    assert result["count"] == 250
    stamp = result["last_modified_time"]
    body = sim.ok(
        "/contacts", per_page=200, sort_column="last_modified_time", last_modified_time=stamp
    )
    assert body["page_context"]["has_more_page"]
    assert {row["last_modified_time"] for row in body["contacts"]} == {stamp}
    assert all(sim.ok(f"/contacts/{i}")["contact"]["notes"] == "imported" for i in ids[:5])


def test_a_bulk_edit_with_an_unknown_id_changes_nothing(sim: SimClient) -> None:
    ids = sim.all_ids("/contacts", "contacts", "contact_id")[:3]
    before = [sim.ok(f"/contacts/{i}")["contact"]["last_modified_time"] for i in ids]
    response = sim.http.patch(f"/_sim/orgs/{ORG}/contacts", json={"ids": [*ids, "1"]})
    assert response.status_code == 404
    after = [sim.ok(f"/contacts/{i}")["contact"]["last_modified_time"] for i in ids]
    assert after == before
