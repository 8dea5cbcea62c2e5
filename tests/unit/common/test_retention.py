"""Retention's passes, against a stand-in pool (the SQL runs in the integration tests; the
processor's loop around them: tests/unit/processor/test_retention.py)."""

from __future__ import annotations

from typing import Any

from tds_common.retention import FOLD_COUNTS, RULES, RetentionSettings, prune

PASS_CALLS = len(RULES) + 1
"""One batch per rule, then the fold of the queue's count deltas."""


class ScriptedPool:
    """Answers ``execute`` from a script of command tags or exceptions, then ``DELETE 0``."""

    def __init__(self, script: list[str | BaseException]):
        self.script = script
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append((sql, args))
        step = self.script.pop(0) if self.script else "DELETE 0"
        if isinstance(step, BaseException):
            raise step
        return step


async def test_a_table_is_pruned_batch_after_batch_until_one_comes_back_short() -> None:
    pool = ScriptedPool(["DELETE 50", "DELETE 50", "DELETE 7"])
    deleted = await prune(pool, RetentionSettings(batch_size=50))  # type: ignore[arg-type]
    assert deleted["tds_sync_queue"] == 107
    assert len(pool.calls) == 2 + PASS_CALLS  # two full batches more than one call per rule
    deletes = [args for sql, args in pool.calls if sql != FOLD_COUNTS]
    assert all(args[1] == 50 for args in deletes)


async def test_each_rule_gets_its_own_age_in_seconds() -> None:
    pool = ScriptedPool([])
    settings = RetentionSettings(queue_days=1, dead_letter_days=2)
    await prune(pool, settings)  # type: ignore[arg-type]
    ages = [args[0] for sql, args in pool.calls if sql != FOLD_COUNTS]
    assert ages[:2] == [86_400.0, 2 * 86_400.0]


async def test_every_pass_ends_by_folding_the_queue_counts() -> None:
    pool = ScriptedPool([])
    await prune(pool, RetentionSettings())  # type: ignore[arg-type]
    assert [sql for sql, _ in pool.calls].count(FOLD_COUNTS) == 1
    assert pool.calls[-1] == (FOLD_COUNTS, ())
