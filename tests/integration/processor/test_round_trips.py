"""A batch costs a fixed, small number of round trips to PostgreSQL, whatever its size (issue 18:
on a busy machine each one waits for both processes to be scheduled)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.connection import Connection

from processor.pipeline import BatchProcessor
from tests.integration.processor.helpers import Record, batch_processor, new_id, new_org
from tests.unit.mirror import factories as f


@pytest.fixture(name="processor")
async def fixture_processor(db_pool: asyncpg.Pool) -> AsyncIterator[BatchProcessor]:
    async with batch_processor(db_pool, lambda _: httpx.Response(503)) as processor:
        yield processor


@pytest.fixture(name="statements")
def fixture_statements(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Statements sent, by their first words (the pool's own reset on release included)."""
    sent: Counter[str] = Counter()
    for name in ("execute", "fetch", "fetchval", "fetchrow", "copy_to_table"):
        original = getattr(Connection, name)

        def spy(self: Connection, query: str, *args: Any, _o: Any = original, **kw: Any) -> Any:
            sent[" ".join(str(query).split()[:3])] += 1
            return _o(self, query, *args, **kw)

        monkeypatch.setattr(Connection, name, spy)
    return sent


@pytest.mark.parametrize("size", [2, 40])
async def test_a_batch_of_new_invoices_costs_nine_statements(
    processor: BatchProcessor, statements: Counter[str], size: int
) -> None:
    org = new_org()
    batch = [
        Record(n, f.envelope("invoices", i, f.invoice(i, lines=2), org_id=org).to_bytes())
        for n, i in enumerate(new_id() for _ in range(size))
    ]
    items = await processor.process(batch)
    assert {i.outcome for i in items} == {"applied"}
    # BEGIN, inbox, echoes, invoices, line items cleared, line items copied, queue and attempts
    # (one statement), COMMIT, and the pool's reset of the connection it gets back.
    assert sum(statements.values()) == 9, statements
