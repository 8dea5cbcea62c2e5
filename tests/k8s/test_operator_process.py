"""The ZohoSync operator as a process against the real API server, with bulk-sync, zoho-proxy and
the simulator as processes (the e2e stack): runs start, the status follows them, suspend and
delete cancel them, Events tell what happened, and neither a restart nor a crash between the
POST and the status patch starts a run twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.postgres import RUNTIME_LOGIN, ensure_runtime_login, with_user
from tests.conftest import RUNTIME_DB_PASSWORD
from tests.e2e.conftest import Stack, fixture_stack  # noqa: F401  (the services as processes)
from tests.k8s.conftest import Cluster
from tests.k8s.operator_process import (
    Operator,
    operator_rbac,
    service_account_kubeconfig,
    wait_for,
    zohosync,
)
from tests.unit.k8s.chartcheck import CRD_FILE
from tests.utils.auth import API_AUTH
from tests.utils.stack import scratch_database
from zoho_sim.testing import serve_app_in_thread

pytestmark = pytest.mark.timeout(300)
SYNC_REQUESTS = "/api/zoho/bulk-sync"


@pytest.fixture(scope="module", name="database_url")
def fixture_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of the module's own (as the services' runtime role). The e2e modules before it
    leave records in the session's database that this stack's simulator never had, and a full
    run that would sweep more than 5 % of an entity's rows holds instead of finishing."""
    with scratch_database(postgres_admin_url, prefix="tds_test_operator") as url:
        ensure_runtime_login(url)
        yield with_user(url, RUNTIME_LOGIN, RUNTIME_DB_PASSWORD)


@pytest.fixture(scope="module", name="stack_extra_env")
def fixture_stack_extra_env() -> dict[str, str]:
    """Few detail reads per run, so an invoice sync leaves some pending for its status to show."""
    return {"BULK_SYNC_SYNC__MAX_DETAIL_CALLS_PER_RUN": "10"}


@pytest.fixture(scope="module", name="operator_namespace")
def fixture_operator_namespace(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A namespace with the CRD and the chart's operator RBAC; yields it and a kubeconfig of
    the operator's ServiceAccount."""
    namespace = f"tds-op-{os.urandom(4).hex()}"
    cluster.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
    cluster.wait_established()
    cluster.kubectl("create", "namespace", namespace)
    rbac = operator_rbac(cluster, namespace)
    cluster.kubectl("apply", "-f", "-", stdin="\n---\n".join(json.dumps(doc) for doc in rbac))
    kubeconfig = tmp_path_factory.mktemp("operator") / "kubeconfig"
    yield namespace, service_account_kubeconfig(cluster, namespace, kubeconfig)
    # The operator is gone by now: its finalizers would keep the resources (and the CRD).
    for name in cluster.kubectl("get", "zohosyncs", "-n", namespace, "-o", "name").split():
        no_finalizers = '{"metadata":{"finalizers":null}}'
        cluster.kubectl("patch", name, "-n", namespace, "--type=merge", "-p", no_finalizers)
    for doc in rbac:
        if doc["kind"].startswith("Cluster"):
            cluster.kubectl(
                "delete", doc["kind"].lower(), doc["metadata"]["name"], "--ignore-not-found"
            )
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
    cluster.delete_crd()


class Gateway:
    """bulk-sync's API as the operator reaches it: passed through, except that with
    ``kill_after_post`` set, the operator is SIGKILLed once bulk-sync has answered its sync
    request and before that answer reaches it (a crash between its POST and its status patch)."""

    def __init__(self, bulk_sync_url: str) -> None:
        self.bulk_sync_url = bulk_sync_url
        self.kill_after_post: Operator | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {
            k.decode(): v.decode()
            for k, v in scope["headers"]
            if k.lower() in (b"authorization", b"content-type")
        }
        async with httpx.AsyncClient(base_url=self.bulk_sync_url) as client:
            answer = await client.request(
                scope["method"],
                scope["path"],
                content=body,
                params=scope["query_string"].decode(),
                headers=headers,
            )
        victim = self.kill_after_post
        if victim is not None and (scope["method"], scope["path"]) == ("POST", SYNC_REQUESTS):
            os.kill(victim.pid(), signal.SIGKILL)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


@pytest.fixture(scope="module", name="gateway")
def fixture_gateway(stack: Stack) -> Iterator[tuple[Gateway, str]]:
    gateway = Gateway(stack.bulk_sync.url)
    with serve_app_in_thread(gateway) as url:
        yield gateway, url


@pytest.fixture(scope="module", name="operator")
def fixture_operator(
    operator_namespace: tuple[str, Path], gateway: tuple[Gateway, str]
) -> Iterator[Operator]:
    namespace, kubeconfig = operator_namespace
    operator = Operator(namespace, kubeconfig, gateway[1])
    operator.start()
    yield operator
    operator.stop()


def _resource(cluster: Cluster, operator: Operator, name: str) -> dict[str, Any]:
    resource: dict[str, Any] = cluster.kubectl_json(
        "get", "zohosync", name, "-n", operator.namespace
    )
    return resource


def _status_when(cluster: Cluster, operator: Operator, name: str, phase: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status: dict[str, Any] = _resource(cluster, operator, name).get("status") or {}
        return status if status.get("phase") == phase else None

    try:
        result: dict[str, Any] = wait_for(f"{name} {phase}", check)
    except AssertionError:
        raise AssertionError(
            f"{name} never {phase}; operator: {operator.output()[-3000:]}"
        ) from None
    return result


def _runs(stack: Stack) -> list[dict[str, Any]]:
    """Every run bulk-sync has (the newest 500: far more than this module makes)."""
    runs: list[dict[str, Any]] = httpx.get(
        f"{stack.bulk_sync.url}/api/zoho/sync/runs", params={"limit": 500}, headers=API_AUTH
    ).json()
    return runs


def _runs_of(stack: Stack, uid: str) -> list[dict[str, Any]]:
    """The bulk-sync runs requested for the resource with this uid (by their keys)."""
    prefix = f"zohosync-{uid}-"
    mine = [run for run in _runs(stack) if (run["idempotency_key"] or "").startswith(prefix)]
    return sorted(mine, key=lambda run: (run["requested_at"], run["entity_type"]))


def _events(cluster: Cluster, operator: Operator, name: str) -> str:
    """What ``kubectl describe zohosync`` shows under Events."""
    described = cluster.kubectl("describe", "zohosync", name, "-n", operator.namespace)
    return described.split("Events:", 1)[-1]


def _events_once(cluster: Cluster, operator: Operator, name: str, reason: str) -> str:
    """The Events once one with ``reason`` is among them (kopf posts them in the background)."""

    def check() -> str | None:
        events = _events(cluster, operator, name)
        return events if reason in events else None

    result: str = wait_for(f"a {reason} Event", check)
    return result


def _posted(events: str, kind: str, reason: str) -> bool:
    """Whether ``kubectl describe``'s Events table has a row of this type and reason."""
    return re.search(rf"^\s*{kind}\s+{reason}\s", events, re.MULTILINE) is not None


def _suspend(cluster: Cluster, operator: Operator, name: str, suspend: bool) -> None:
    patch = json.dumps({"spec": {"suspend": suspend}})
    namespace = operator.namespace
    cluster.kubectl("patch", "zohosync", name, "-n", namespace, "--type=merge", "-p", patch)


def _create(cluster: Cluster, operator: Operator, name: str, **spec: Any) -> str:
    cluster.kubectl("apply", "-n", operator.namespace, "-f", "-", stdin=zohosync(name, **spec))
    return str(_resource(cluster, operator, name)["metadata"]["uid"])


def test_a_zohosync_starts_runs_and_its_status_follows_them(
    cluster: Cluster, operator: Operator, stack: Stack
) -> None:
    uid = _create(cluster, operator, "once", entities=["customers", "invoices"])
    status = _status_when(cluster, operator, "once", "Succeeded")
    runs = _runs_of(stack, uid)
    assert [run["status"] for run in runs] == ["completed", "completed"]
    assert status["lastRunIds"] == [run["id"] for run in runs]
    assert status["records"] == sum(run["processed_items"] for run in runs) > 0
    progress = {entry["entity"]: entry for entry in status["runs"]}
    assert set(progress) == {"customers", "invoices"}
    for run in runs:
        entry = progress[run["entity_type"]]
        expected = (run["id"], "completed", run["processed_items"], run["api_calls"])
        assert (entry["runId"], entry["status"], entry["records"], entry["calls"]) == expected
    # Invoices are read with their details; what is still without them is said.
    assert progress["invoices"]["detailsPending"] == runs[1]["details_pending"]
    assert status["detailsPending"] == runs[1]["details_pending"]
    assert "detailsPending" not in progress["customers"]
    ready = status["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Succeeded")
    events = _events_once(cluster, operator, "once", "SyncSucceeded")
    assert _posted(events, "Normal", "SyncStarted") and _posted(events, "Normal", "SyncSucceeded")
    assert "2/2 runs completed" in events


def test_suspend_and_delete_cancel_the_sync_in_progress(
    cluster: Cluster, operator: Operator, stack: Stack
) -> None:
    faults = f"{stack.sim.url}/_sim/faults"
    httpx.put(faults, json={"hold": True}).raise_for_status()  # every Zoho call waits
    try:
        uid = _create(cluster, operator, "held", entities=["customers"])

        def running() -> list[dict[str, Any]]:
            return [r for r in _runs_of(stack, uid) if r["status"] == "running"]

        wait_for("a running run", running)
        _suspend(cluster, operator, "held", True)
        status = _status_when(cluster, operator, "held", "Suspended")
        first = _runs_of(stack, uid)
        assert [run["status"] for run in first] == ["cancelled"]
        assert status["runs"][0]["status"] == "cancelled"
        events = _events_once(cluster, operator, "held", "SyncCancelled")
        assert _posted(events, "Normal", "SyncCancelled")

        # Resumed, it syncs its spec again; deleted, that sync is cancelled with it.
        _suspend(cluster, operator, "held", False)
        second = wait_for("a second run", lambda: _runs_of(stack, uid)[1:])
        assert second[0]["status"] in ("pending", "running")
        cluster.kubectl("delete", "zohosync", "held", "-n", operator.namespace, "--timeout=60s")
        assert [run["status"] for run in _runs_of(stack, uid)] == ["cancelled", "cancelled"]
        names = cluster.kubectl("get", "zohosyncs", "-n", operator.namespace, "-o", "name")
        assert "zohosync.tds.dev/held" not in names.split()
    finally:
        httpx.put(faults, json={"hold": False}).raise_for_status()


def test_a_restart_runs_nothing_twice_not_even_after_a_crash_between_post_and_patch(
    cluster: Cluster, operator: Operator, gateway: tuple[Gateway, str], stack: Stack
) -> None:
    steady_uid = _create(cluster, operator, "steady", entities=["customers"])
    steady = _status_when(cluster, operator, "steady", "Succeeded")

    before = {run["id"] for run in _runs(stack)}
    gateway[0].kill_after_post = operator  # dies after bulk-sync created the runs, before its patch
    crash_uid = _create(cluster, operator, "crash", entities=["customers"])
    wait_for("the operator killed after its POST", operator.killed)
    gateway[0].kill_after_post = None
    posted = [run["id"] for run in _runs(stack) if run["id"] not in before]
    assert len(posted) == 1
    assert "lastRunIds" not in (_resource(cluster, operator, "crash").get("status") or {})

    operator.start()
    status = _status_when(cluster, operator, "crash", "Succeeded")
    # The resource served before the crash was resumed and refreshed, and not run again.
    resumed = f"[{operator.namespace}/steady] Resuming is processed"
    wait_for("steady resumed", lambda: resumed in operator.output_of_this_start())
    assert [run["id"] for run in _runs(stack) if run["id"] not in before] == posted
    assert status["lastRunIds"] == posted
    assert [run["id"] for run in _runs_of(stack, crash_uid)] == posted
    assert [run["id"] for run in _runs_of(stack, steady_uid)] == steady["lastRunIds"]
    assert _resource(cluster, operator, "steady")["status"]["lastRunIds"] == steady["lastRunIds"]


def test_a_schedule_cron_cannot_read_ends_in_a_condition_and_an_event(
    cluster: Cluster, operator: Operator, stack: Stack
) -> None:
    """February 30th passes the CRD (each field is in range) but never comes."""
    uid = _create(cluster, operator, "never", entities=["customers"], schedule="0 0 30 2 *")
    status = _status_when(cluster, operator, "never", "Failed")
    ready = status["conditions"][0]
    expected = ("Ready", "False", "InvalidSchedule")
    assert (ready["type"], ready["status"], ready["reason"]) == expected
    assert "invalid schedule '0 0 30 2 *'" in ready["message"]
    events = _events_once(cluster, operator, "never", "InvalidSchedule")
    assert _posted(events, "Warning", "InvalidSchedule") and "0 0 30 2 *" in events
    assert _runs_of(stack, uid) == []
