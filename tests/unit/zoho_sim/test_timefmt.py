from __future__ import annotations

import pytest

from zoho_sim.timefmt import format_ts, parse_offset, parse_ts, to_epoch


def test_format_uses_the_org_offset_without_colon() -> None:
    assert format_ts(1781012721, parse_offset("-0400")) == "2026-06-09T09:45:21-0400"
    assert format_ts(1781012721, parse_offset("+0530")) == "2026-06-09T19:15:21+0530"


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-09T09:45:21-0400",
        "2026-06-09T09:45:21-04:00",
        "2026-06-09T13:45:21Z",
        "2026-06-09T13:45:21",
        "2026-06-09T13:45:21.000Z",
    ],
)
def test_filter_values_in_every_seen_form_mean_the_same_instant(value: str) -> None:
    assert parse_ts(value).timestamp() == 1781012721


@pytest.mark.parametrize("value", ["2026-06-09", "yesterday", "2026-06-09T09:45:21-4", ""])
def test_bad_filter_values_raise(value: str) -> None:
    with pytest.raises(ValueError):
        parse_ts(value)


def test_bad_offset_raises() -> None:
    with pytest.raises(ValueError, match="bad UTC offset"):
        parse_offset("EST")


def test_round_trip() -> None:
    assert to_epoch(format_ts(1_700_000_000, parse_offset("+0100"))) == 1_700_000_000
