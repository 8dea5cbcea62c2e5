"""The one rule for versions from the future, used by ingest, processor and bulk-sync.

A record's ``last_modified_time`` is its version: the mirror keeps the newest. A version far ahead
of our clock (a bad clock, a hand-made payload) would win against every real edit that follows and
freeze the row, so it is refused wherever a version enters: ingest answers 422, the processor
dead-letters the event, bulk-sync skips the record and says so in its run. Zoho's clock and ours
may differ a little, never by days: the allowed skew is ``MAX_VERSION_SKEW_SECONDS`` (one day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import AliasChoices, Field

from tds_common.errors import InvalidMessageError

DEFAULT_MAX_VERSION_SKEW_SECONDS: Final = 86_400.0
SKEW_ENV: Final = "MAX_VERSION_SKEW_SECONDS"


class FutureVersionError(InvalidMessageError):
    """A ``last_modified_time`` beyond our clock plus the allowed skew: never stored."""

    http_status = 422
    error_code = "future_version"


def max_version_skew_field() -> Any:
    """The shared, unprefixed ``MAX_VERSION_SKEW_SECONDS`` setting, for each service's Settings."""
    return Field(
        DEFAULT_MAX_VERSION_SKEW_SECONDS,
        gt=0,
        validation_alias=AliasChoices(SKEW_ENV, "max_version_skew_seconds"),
        description="How far a record's last_modified_time may be ahead of our clock.",
    )


def check_version(
    modified: datetime | None, max_skew_seconds: float, *, now: datetime | None = None
) -> None:
    """Raise :class:`FutureVersionError` when ``modified`` is beyond now plus the skew."""
    if modified is None:
        return
    limit = (now or datetime.now(UTC)) + timedelta(seconds=max_skew_seconds)
    if modified > limit:
        raise FutureVersionError(
            f"last_modified_time {modified.isoformat()} is more than {max_skew_seconds:g} s "
            f"ahead of our clock ({limit.isoformat()} at most); refused so it cannot freeze the row"
        )
