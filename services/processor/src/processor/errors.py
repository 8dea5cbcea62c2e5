"""The processor's own errors: how a failure of one record is retried, waited out or parked.

    TransientError (tds_common.errors)
    ├── RecordFailedError          this record's own failure, retriable: counted, bounded
    │   └── ProxyRecordError       zoho-proxy answered 5xx (not 503) or 403 for this record
    └── ProxyWaitError             zoho-proxy unreachable, Zoho/tokens unavailable (503), or our
                                   own token refused (401): the record's partition waits;
                                   nothing is counted
    InvalidMessageError (tds_common.errors)
    └── RetriesExhaustedError      a RecordFailedError came back too often: parked (DLQ)

Infrastructure outages of PostgreSQL and Kafka stay plain ``UpstreamUnavailableError``: they
stop every partition (the whole batch backs off), and nothing is counted or dead-lettered.
"""

from __future__ import annotations

from tds_common.errors import InvalidMessageError, TransientError


class RecordFailedError(TransientError):
    """A failure that is this record's own and may pass: tried again, a bounded number of times."""

    error_code = "record_failed"


class ProxyRecordError(RecordFailedError):
    """zoho-proxy answered 5xx (other than 503) or 403 for one record's read."""

    error_code = "proxy_record_error"


class ProxyWaitError(TransientError):
    """zoho-proxy cannot serve anyone now: its partition waits, the record keeps its attempts."""

    error_code = "proxy_unavailable"


class RetriesExhaustedError(InvalidMessageError):
    """A record failed ``max_attempts`` times; it is parked as a dead letter (replayable)."""

    error_code = "retries_exhausted"

    def __init__(self, attempts: int, last_error: str) -> None:
        super().__init__(f"retries_exhausted after {attempts} attempts: {last_error}")
        self.attempts = attempts
