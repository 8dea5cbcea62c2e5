"""``tds`` commands that talk HTTP, against a fake of the services' APIs (httpx MockTransport).

The fake answers what bulk-sync, the processor and zoho-proxy answer (same paths and shapes);
each test checks what the command sent and what it printed.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tds_cli.main import create_app

RUN_ID = "5b0e2f3c-1111-4222-8333-944445555666"


def _run(status: str, processed: int, page: int) -> dict[str, Any]:
    return {
        "id": RUN_ID,
        "org_id": "123",
        "run_type": "full",
        "entity_type": "invoices",
        "source_type": "books",
        "status": status,
        "total_items": 300,
        "processed_items": processed,
        "failed_items": 0,
        "api_calls": page + 1,
        "checkpoint": {"invoices": {"page": page}},
        "request": None,
        "requested_at": "2026-12-01T00:00:00Z",
        "started_at": None,
        "completed_at": None,
        "updated_at": "2026-12-01T00:00:00Z",
        "error_log": None,
        "details_pending": None,
    }


BUDGET = {
    "budgets": [
        {
            "organization_id": "123",
            "product": "books",
            "minute": {"limit": 100, "used": 7, "left": 93},
            "day": {"limit": 1000, "used": 40, "left": 960},
            "in_flight": {"limit": 10, "used": 1, "left": 9},
        },
    ],
    "lane_waits": {},
    "token": {"state": "ok", "last_error": None},
}
COMPLETENESS = {"organizations": {"123": {"invoices": {"rows": 300, "details_pending": 12}}}}
LETTER = {
    "queue_id": 41,
    "entity_type": "invoices",
    "org_id": "123",
    "error": "bad total",
    "dlq_partition": 0,
    "dlq_offset": 7,
}
REPLAYED = {
    "selected": 2,
    "replayed": 1,
    "missing": 1,
    "taken": 0,
    "scanned": 1,
    "dry_run": False,
    "missing_queue_ids": [41],
}
STATS = {"queue": {"pending": 3, "dead_letter": 1}, "by_entity": {}, "consumer_lag": 2}
WRITE = {
    "id": 9,
    "org_id": "123",
    "entity": "customers",
    "op": "create",
    "local_ref": "c-9",
    "status": "pending",
    "attempts": 0,
    "error": None,
}
WRITES_PAGE = {"writes": [WRITE], "next_before_id": 9}
PRUNED = {
    "deleted": {"tds_sync_queue": 4, "tds_outbox": 0},
    "days": {"queue_days": 3650.0, "outbox_days": 30.0},
}
NOWHERE = "postgresql://tds@127.0.0.1:9/nowhere"
"""A DATABASE_URL nothing answers: the command must not need PostgreSQL."""


class FakeStack:
    """Routes by port like the local stack: 8002 processor, 8003 bulk-sync, 8004 zoho-proxy."""

    def __init__(self, statuses: list[str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = statuses or ["running", "running", "completed"]
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        port, path, method = request.url.port, request.url.path, request.method
        if port == 8003 and method == "POST" and path == "/api/zoho/bulk-sync":
            return httpx.Response(202, json={"request_id": "r1", "runs": [_run("pending", 0, 0)]})
        if port == 8003 and path == f"/api/zoho/sync/runs/{RUN_ID}/cancel":
            return httpx.Response(200, json=_run("cancelled", 10, 1))
        if port == 8003 and path == f"/api/zoho/sync/runs/{RUN_ID}":
            status = self.statuses[min(self.polls, len(self.statuses) - 1)]
            self.polls += 1
            return httpx.Response(200, json=_run(status, 100 * self.polls, self.polls))
        if port == 8003 and path == "/api/zoho/sync/runs/unknown":
            return httpx.Response(404, json={"error": {"message": "no sync run unknown"}})
        if port == 8003 and path == "/api/zoho/sync/runs":
            return httpx.Response(200, json=[_run("completed", 300, 3)])
        if port == 8003 and path == "/api/zoho/sync/completeness":
            return httpx.Response(200, json=COMPLETENESS)
        if port == 8003 and method == "GET" and path == "/api/zoho/writes":
            return httpx.Response(200, json=WRITES_PAGE)
        if port == 8003 and path == "/api/zoho/writes/7":
            return httpx.Response(200, json={"id": 7, "status": "applied"})
        if port == 8002 and path == "/api/zoho/dead-letters":
            return httpx.Response(200, json=[LETTER])
        if port == 8002 and path == "/api/zoho/dead-letters/41":
            return httpx.Response(200, json={**LETTER, "raw_payload": {"total": "12,5O"}})
        if port == 8002 and method == "POST" and path == "/api/zoho/dead-letters/replay":
            body = json.loads(request.content)
            if body.get("queue_ids") == [999]:
                return httpx.Response(
                    404, json={"error_code": "not_found", "message": "no queue row 999"}
                )
            if not body.keys() - {"dry_run"}:
                return httpx.Response(
                    422,
                    json={"detail": [{"msg": "Value error, choose dead letters (...) or set all"}]},
                )
            return httpx.Response(200, json=REPLAYED)
        if port == 8002 and method == "POST" and path == "/api/zoho/retention/prune":
            return httpx.Response(200, json=PRUNED)
        if port == 8002 and path == "/api/zoho/sync/stats":
            return httpx.Response(200, json=STATS)
        if port == 8004 and path == "/api/zoho/budget":
            return httpx.Response(200, json=BUDGET)
        return httpx.Response(404, json={"error": {"message": f"no route {path}"}})


def _invoke(stack: FakeStack, *args: str, env: dict[str, str] | None = None) -> Any:
    app = create_app(httpx.MockTransport(stack))
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def test_sync_start_posts_the_request_and_lists_the_runs() -> None:
    stack = FakeStack()
    result = _invoke(stack, "-o", "json", "sync", "start", "--mode", "full", "-e", "invoices")
    assert result.exit_code == 0, result.output
    assert json.loads(stack.requests[0].content) == {"mode": "full", "entities": ["invoices"]}
    assert json.loads(result.output)[0]["id"] == RUN_ID


def test_sync_start_refuses_an_unknown_entity_without_calling_bulk_sync() -> None:
    stack = FakeStack()
    result = _invoke(stack, "sync", "start", "--entities", "invoices,nonsense")
    assert result.exit_code == 1
    assert "unknown entity 'nonsense'" in result.output
    assert stack.requests == []


def test_sync_follow_polls_until_the_run_ends_and_shows_its_progress() -> None:
    stack = FakeStack(["running", "running", "completed"])
    result = _invoke(
        stack, "sync", "start", "--mode", "full", "-e", "invoices", "--follow", "--interval", "0"
    )
    assert result.exit_code == 0, result.output
    assert stack.polls == 3
    assert "invoices [completed]" in result.output  # the status shown literally, not as markup
    # The bar's line: pages from the checkpoint, calls, the org's budget, details pending.
    assert "pages 3" in result.output
    assert "budget 93/100 min, 960 day" in result.output
    assert "details pending 12" in result.output


def test_sync_follow_exits_non_zero_when_a_run_failed() -> None:
    result = _invoke(FakeStack(["failed"]), "sync", "start", "--follow", "--interval", "0")
    assert result.exit_code == 1
    assert f"1 run(s) failed: {RUN_ID}" in result.output


def test_runs_run_show_and_cancel() -> None:
    stack = FakeStack()
    listed = _invoke(stack, "-o", "json", "runs", "--limit", "5")
    assert json.loads(listed.output)[0]["status"] == "completed"
    assert stack.requests[-1].url.params["limit"] == "5"
    shown = _invoke(stack, "-o", "json", "run", "show", RUN_ID)
    assert json.loads(shown.output)["id"] == RUN_ID
    cancelled = _invoke(stack, "-o", "json", "run", "cancel", RUN_ID)
    assert json.loads(cancelled.output)["status"] == "cancelled"
    assert stack.requests[-1].method == "POST"


def test_an_api_error_is_one_line_and_exit_1() -> None:
    result = _invoke(FakeStack(), "run", "show", "unknown")
    assert result.exit_code == 1
    assert "bulk-sync answered 404: no sync run unknown" in result.output


def test_an_unreachable_service_is_named_with_its_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(httpx.MockTransport(refuse))
    result = CliRunner().invoke(app, ["--processor-url", "http://stats.example:9", "stats"])
    assert result.exit_code == 1
    assert "processor unreachable at http://stats.example:9" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("stats",), STATS),
        (("budget",), BUDGET),
        (("completeness",), COMPLETENESS),
        (("writes", "7"), {"id": 7, "status": "applied"}),
    ],
)
def test_read_commands_print_the_api_answer_as_json(args: tuple[str, ...], expected: Any) -> None:
    result = _invoke(FakeStack(), "--output", "json", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == expected


def test_budget_and_completeness_tables_for_people() -> None:
    budget = _invoke(FakeStack(), "budget")
    assert "93/100" in budget.output and "Zoho token: ok" in budget.output
    completeness = _invoke(FakeStack(), "completeness")
    assert "invoices" in completeness.output and "12" in completeness.output


def test_the_api_token_is_sent_and_never_printed() -> None:
    stack = FakeStack()
    app = create_app(httpx.MockTransport(stack))
    result = CliRunner().invoke(app, ["stats"], env={"TDS_API_TOKEN": "s3cret-token"})
    assert result.exit_code == 0
    assert stack.requests[0].headers["Authorization"] == "Bearer s3cret-token"
    assert "s3cret-token" not in result.output


def test_shell_completion_is_offered() -> None:
    result = CliRunner().invoke(
        create_app(), ["--show-completion", "bash"], env={"SHELL": "/bin/bash"}
    )
    assert result.exit_code == 0
    assert "_TDS_COMPLETE" in result.output or "complete" in result.output


def test_invalid_settings_are_one_line_not_a_traceback() -> None:
    stack = FakeStack()
    result = CliRunner().invoke(
        create_app(httpx.MockTransport(stack)), ["stats"], env={"TDS_TIMEOUT_SECONDS": "-1"}
    )
    assert result.exit_code == 1
    assert "invalid settings" in result.output and "timeout_seconds" in result.output
    assert stack.requests == []


def test_doctor_names_invalid_settings() -> None:
    result = CliRunner().invoke(
        create_app(httpx.MockTransport(FakeStack())), ["doctor"], env={"TDS_TIMEOUT_SECONDS": "x"}
    )
    assert result.exit_code == 1
    assert result.output.startswith("FAIL settings")


def test_dlq_replay_posts_the_selection_to_the_processor() -> None:
    stack = FakeStack()
    result = _invoke(
        stack,
        "-o",
        "json",
        "dlq",
        "replay",
        "--entity",
        "invoices",
        "--org",
        "123",
        "--queue-id",
        "41",
        "--queue-id",
        "42",
        "--since",
        "2026-06-09T00:00:00",
    )
    assert result.exit_code == 0, result.output
    (request,) = stack.requests
    assert (request.method, request.url.port) == ("POST", 8002)
    assert json.loads(request.content) == {
        "entity": "invoices",
        "org_id": "123",
        "queue_ids": [41, 42],
        "since": "2026-06-09T00:00:00+00:00",
        "dry_run": False,
    }
    assert json.loads(result.output) == REPLAYED
    assert request.extensions["timeout"]["read"] == 600.0  # a replay outlasts the usual 10 s


def test_dlq_replay_says_why_the_processor_refused() -> None:
    unknown = _invoke(FakeStack(), "dlq", "replay", "--queue-id", "999")
    assert unknown.exit_code == 1
    assert "processor answered 404: no queue row 999" in unknown.output
    nothing = _invoke(FakeStack(), "dlq", "replay", "--dry-run")
    assert nothing.exit_code == 1
    assert "answered 422: Value error, choose dead letters (...) or set all" in nothing.output
    every = _invoke(stack := FakeStack(), "dlq", "replay", "--all", "--dry-run")
    assert every.exit_code == 0, every.output
    assert json.loads(stack.requests[0].content) == {"all": True, "dry_run": True}


def test_dlq_list_and_show_ask_the_processor() -> None:
    stack = FakeStack()
    listed = _invoke(stack, "-o", "json", "dlq", "list", "--entity", "invoices", "--org", "123")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [LETTER]
    expected = {"entity": "invoices", "org_id": "123", "limit": "50"}
    assert dict(stack.requests[0].url.params) == expected
    shown = _invoke(stack, "-o", "json", "dlq", "show", "41")
    assert json.loads(shown.output)["raw_payload"] == {"total": "12,5O"}
    missing = _invoke(stack, "dlq", "show", "42")
    assert missing.exit_code == 1
    assert "processor answered 404" in missing.output


def test_writes_are_listed_by_bulk_sync_without_postgresql() -> None:
    stack = FakeStack()
    args = ("-o", "json", "writes", "--status", "pending", "--limit", "20", "--before-id", "30")
    result = _invoke(stack, *args, env={"DATABASE_URL": NOWHERE})
    assert result.exit_code == 0, result.output
    (request,) = stack.requests
    assert (request.method, request.url.port, request.url.path) == ("GET", 8003, "/api/zoho/writes")
    assert dict(request.url.params) == {"status": "pending", "limit": "20", "before_id": "30"}
    assert json.loads(result.output) == [WRITE]


def test_the_writes_table_says_how_to_see_the_next_page() -> None:
    result = _invoke(FakeStack(), "writes", env={"DATABASE_URL": NOWHERE})
    assert result.exit_code == 0, result.output
    assert "c-9" in result.output
    assert "older: tds writes --before-id 9" in result.output


def test_prune_asks_the_processor_whatever_the_local_retention_settings() -> None:
    stack = FakeStack()
    local = {"DATABASE_URL": NOWHERE, "PROCESSOR_RETENTION__QUEUE_DAYS": "1"}
    result = _invoke(stack, "-o", "json", "prune", env=local)
    assert result.exit_code == 0, result.output
    (request,) = stack.requests
    assert (request.method, request.url.port) == ("POST", 8002)
    assert request.url.path == "/api/zoho/retention/prune"
    assert request.extensions["timeout"]["read"] == 600.0  # a pass outlasts the usual 10 s
    assert json.loads(result.output) == PRUNED


def test_prune_shows_the_counts_and_the_ages_the_processor_applied() -> None:
    result = _invoke(FakeStack(), "prune")
    assert result.exit_code == 0, result.output
    assert "rows deleted" in result.output and "tds_sync_queue" in result.output
    assert "queue_days" in result.output and "3650.0" in result.output
