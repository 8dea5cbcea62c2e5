"""Refuse a record whose ``last_modified_time`` is too far ahead (rule: ``tds_common.versions``).

Such a version would win against every real edit after it and freeze the mirror row, so ingest
answers 422 and publishes nothing.
"""

from __future__ import annotations

from datetime import datetime

from ingest.errors import InvalidRecordError
from tds_common.versions import FutureVersionError, check_version


def refuse_future_version(modified: datetime, max_skew_seconds: float) -> None:
    """:class:`InvalidRecordError` (422) when ``modified`` is beyond now plus the allowed skew."""
    try:
        check_version(modified, max_skew_seconds)
    except FutureVersionError as exc:
        raise InvalidRecordError(
            str(exc), [{"field": "last_modified_time", "problem": "too far in the future"}]
        ) from exc
