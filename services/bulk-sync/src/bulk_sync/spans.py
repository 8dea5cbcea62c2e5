"""bulk-sync's trace spans: a sync run, each of its pages, each write-back attempt.

A run can last hours and make thousands of calls, so it is not one trace. The run's span starts
a trace of its own, linked to the request that asked for the run (the command's ``traceparent``
Kafka header); each listed page starts another, linked to the run, holding that page's calls to
zoho-proxy (client spans, which zoho-proxy continues down to its Zoho call). Every span carries
the run id, so a run's traces are found by ``tds.run_id``. The write-back relay makes one trace
per attempt at a write (docs/architecture.md, "Tracing").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from bulk_sync.models import SyncCommand
from tds_common.tracing import context_from_headers, get_tracer, link_to, linked_root_span

if TYPE_CHECKING:
    from bulk_sync.context import RunContext
    from bulk_sync.writeback.store import Write

TRACER: Final = "bulk_sync"


@contextmanager
def run_span(
    command: SyncCommand, headers: Iterable[tuple[str, bytes | None]] | None
) -> Iterator[trace.Span]:
    """The span of one run's execution (made current), linked to whoever asked for the run."""
    with get_tracer(TRACER).start_as_current_span(
        "sync run",
        context=Context(),
        kind=SpanKind.CONSUMER,
        links=link_to(context_from_headers(headers)),
        attributes={
            "tds.run_id": command.run_id,
            "tds.org_id": command.org_id,
            "tds.sync.mode": command.mode,
            "tds.entities": ",".join(command.entities),
        },
    ) as span:
        yield span


def page_span(ctx: RunContext) -> AbstractContextManager[trace.Span]:
    """A page of a run's listing: a trace of its own, linked to the run's span."""
    return linked_root_span(
        get_tracer(TRACER),
        f"sync page {ctx.entity}",
        {"tds.run_id": str(ctx.run_id), "tds.org_id": ctx.org_id, "tds.entity": ctx.entity},
    )


def write_span(write: Write) -> AbstractContextManager[trace.Span]:
    """One attempt at an outbox write (made current): its calls to zoho-proxy are children."""
    return get_tracer(TRACER).start_as_current_span(
        f"write-back {write.op} {write.entity}",
        context=Context(),
        kind=SpanKind.PRODUCER,
        attributes={
            "tds.write_id": write.id,
            "tds.org_id": write.org_id,
            "tds.entity": write.entity,
            "tds.write.op": write.op,
            "tds.write.attempt": write.attempts,
        },
    )
