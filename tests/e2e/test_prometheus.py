"""A real Prometheus scraping the e2e stack: every panel shows data, every alert evaluates.

Prometheus (Debian's package, ``make prometheus``) scrapes the stack's four services every second
with the scrape configuration ``make up`` uses (a job per component and a ``namespace`` label, as
the chart's ServiceMonitor produces in a cluster) and evaluates the chart's PrometheusRule as
helm renders it. After traffic in two waves (webhooks from the simulator, a thin and a rejected
webhook, a full sync of invoices, a dead letter), each wave scraped before the next (Prometheus
holds every histogram observation the services' own pages show), so counters move between
scrapes and quantiles are numbers. A failure quotes each job's scrape health:

- every query of every panel not declared event-only returns at least one number (not NaN);
- every query of an event-only panel is valid and returns nothing (the event did not happen);
- every alerting rule has been evaluated without error, and none of the alerts on missing or
  failing targets is active (the local jobs are the ones the rules expect).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from devstack import prometheus
from devstack.dashboards.catalogue import DASHBOARDS
from devstack.dashboards.model import Panel
from devstack.dashboards.render import NAMESPACE_SERIES
from devstack.paths import log_dir
from tests.conftest import free_port
from tests.e2e.conftest import ORG_ID, WEBHOOK_SECRET, Stack
from tests.unit.k8s.conftest import fixture_helm  # noqa: F401  (renders the chart's rules)
from tests.utils.auth import API_AUTH
from tests.utils.polling import wait_ready, wait_until
from tests.utils.processes import stop_process

pytestmark = pytest.mark.timeout(600)

SCRAPE_INTERVAL_SECONDS: Final = 1.0
PROMETHEUS_START_SECONDS: Final = 30.0
TRAFFIC_WAIT_SECONDS: Final = 120.0
JOBS: Final = ("ingest", "processor", "bulk-sync", "zoho-proxy")
TARGET_ALERTS: Final = frozenset({"TdsTargetDown", "TdsComponentAbsent"})


@pytest.fixture(scope="module", name="prometheus_url")
def fixture_prometheus_url(stack: Stack, helm: Path, tmp_path_factory: Any) -> Iterator[str]:
    """Prometheus scraping ``stack`` with the chart's rules, on a free port, stopped afterwards."""
    binary = prometheus.binary()
    assert binary is not None, "the prometheus server is missing: make prometheus installs it"
    services = {
        "ingest": stack.ingest,
        "processor": stack.processor,
        "bulk-sync": stack.bulk_sync,
        "zoho-proxy": stack.proxy,
    }
    targets = {job: service.url.removeprefix("http://") for job, service in services.items()}
    home = tmp_path_factory.mktemp("prometheus")
    config = prometheus.write_config(
        home,
        targets,
        interval_seconds=SCRAPE_INTERVAL_SECONDS,
        rules=prometheus.rules_from_chart(helm),
    )
    port = free_port()
    log = log_dir() / f"e2e-prometheus-{port}.log"
    process = subprocess.Popen(
        prometheus.command(binary, config, home / "data", port),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(
            f"{url}/-/ready",
            what="prometheus",
            limit_seconds=PROMETHEUS_START_SECONDS,
            process=process,
            log=log,
        )
        yield url
    finally:
        stop_process(process, grace_seconds=30)


@dataclass
class PrometheusApi:
    """The few calls of Prometheus's HTTP API the test needs."""

    client: httpx.AsyncClient

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result; fails the test on an invalid expression."""
        response = await self.client.get("/api/v1/query", params={"query": expr})
        body = response.json()
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def label_values(self, label: str, series: str) -> list[str]:
        """What Grafana's ``label_values(series, label)`` offers (the series API)."""
        response = await self.client.get(
            f"/api/v1/label/{label}/values", params={"match[]": series}
        )
        response.raise_for_status()
        values: list[str] = response.json()["data"]
        return values

    async def rules(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/rules", params={"type": "alert"})
        response.raise_for_status()
        return [rule for group in response.json()["data"]["groups"] for rule in group["rules"]]


@pytest.fixture(name="api")
async def fixture_api(prometheus_url: str) -> AsyncIterator[PrometheusApi]:
    async with httpx.AsyncClient(base_url=prometheus_url, timeout=10.0) as client:
        yield PrometheusApi(client)


def _scoped(expr: str) -> str:
    """A panel's query as Grafana sends it, for the namespace the local targets carry."""
    return expr.replace("$namespace", prometheus.NAMESPACE)


def _numbers(result: list[dict[str, Any]]) -> list[float]:
    return [float(sample["value"][1]) for sample in result]


def _panels() -> list[tuple[str, Panel]]:
    return [(dashboard.name, panel) for dashboard in DASHBOARDS for panel in dashboard.panels]


async def _histograms_scraped(api: PrometheusApi, stack: Stack) -> bool:
    """Prometheus holds every observation each job's ``/metrics`` showed a moment earlier
    (counts only grow, so a scrape at least as high as the page holds all of the page's)."""
    services = {
        "ingest": stack.ingest,
        "processor": stack.processor,
        "bulk-sync": stack.bulk_sync,
        "zoho-proxy": stack.proxy,
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        for job, service in services.items():
            page = (await client.get(f"{service.url}/metrics")).text
            histograms = [f for f in text_string_to_metric_families(page) if f.type == "histogram"]
            shown = sum(s.value for f in histograms for s in f.samples if s.name.endswith("_count"))
            names = "|".join(f"{family.name}_count" for family in histograms)
            scraped = _numbers(await api.query(f'sum({{__name__=~"{names}", job="{job}"}})'))
            if not scraped or scraped[0] < shown:
                return False
    return True


async def _scrape_health(api: PrometheusApi) -> str:
    """Each job's scrapes over the test: how many, how many failed, the slowest; what a panel
    without data needs first (a quantile stays NaN while its target's scrapes fail)."""
    health: dict[str, dict[str, str]] = {}
    for what, expr in (
        ("scrapes", "count_over_time(up[10m])"),
        ("failed", "count_over_time(up[10m]) - sum_over_time(up[10m])"),
        ("slowest_seconds", "max_over_time(scrape_duration_seconds[10m])"),
    ):
        for sample in await api.query(expr):
            health.setdefault(sample["metric"].get("job", "?"), {})[what] = sample["value"][1]
    return f"scrape health by job: {health}"


async def _traffic(stack: Stack, kafka_bootstrap: str, wave: int) -> None:
    """Webhooks (the simulator's, a thin one, one with a wrong token), a full sync of invoices
    to its end, and one record no processor can read (a dead letter)."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        sim = f"{stack.sim.url}/_sim/orgs/{ORG_ID}"
        created: dict[str, Any] = {}
        for entity in ("items", "contacts", "invoices"):
            created[entity] = (await client.post(f"{sim}/{entity}", json={})).json()["record"]
        item = created["items"]
        # Thin: the id and version only, so the processor reads the record through zoho-proxy.
        thin = await client.post(
            f"{stack.ingest.url}/api/zoho/webhooks/products",
            json={"item": {key: item[key] for key in ("item_id", "last_modified_time")}},
            headers={"X-TDS-Webhook-Token": WEBHOOK_SECRET},
        )
        assert thin.status_code == 202, thin.text
        rejected = await client.post(
            f"{stack.ingest.url}/api/zoho/webhooks/items",
            json={"item": {}},
            headers={"X-TDS-Webhook-Token": f"not-{WEBHOOK_SECRET}"},
        )
        assert rejected.status_code == 401
        accepted = await client.post(
            f"{stack.bulk_sync.url}/api/zoho/bulk-sync",
            json={"mode": "full", "entities": ["invoices"]},
            headers=API_AUTH,
        )
        assert accepted.status_code == 202, accepted.text
        (run,) = accepted.json()["runs"]

        async def run_ended() -> bool:
            view = (
                await client.get(
                    f"{stack.bulk_sync.url}/api/zoho/sync/runs/{run['id']}", headers=API_AUTH
                )
            ).json()
            assert view["status"] not in ("failed", "cancelled"), view
            return bool(view["status"] == "completed")

        await wait_until(run_ended, what=f"sync run {wave} completed", limit_seconds=120)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(stack.events_topic, b"\xff{ not an envelope", key=b"dlq")
    finally:
        await producer.stop()


async def test_every_panel_shows_data_and_every_alert_evaluates(
    stack: Stack, kafka_bootstrap: str, api: PrometheusApi
) -> None:
    async def all_targets_up() -> bool:
        up = await api.query(f'up{{namespace="{prometheus.NAMESPACE}"}} == 1')
        return {sample["metric"]["job"] for sample in up} == set(JOBS)

    await wait_until(all_targets_up, what="every service scraped", limit_seconds=60)
    # The dashboards' namespace variable offers the namespace the targets carry.
    assert await api.label_values("namespace", NAMESPACE_SERIES) == [prometheus.NAMESPACE]

    await _traffic(stack, kafka_bootstrap, wave=1)

    async def first_wave_scraped() -> bool:
        runs = await api.query('tds_bulk_sync_runs_total{status="completed"}')
        dead = await api.query('tds_processor_events_total{outcome="dead_letter"}')
        # Quantile panels stay NaN unless a histogram grows between two scrapes: the first
        # wave's observations must be in Prometheus before the second wave adds to them.
        return bool(runs and dead) and await _histograms_scraped(api, stack)

    try:
        await wait_until(first_wave_scraped, what="the first wave scraped", limit_seconds=60)
    except AssertionError as exc:
        raise AssertionError(f"first wave not scraped; {await _scrape_health(api)}") from exc
    await _traffic(stack, kafka_bootstrap, wave=2)

    shown = [(name, panel) for name, panel in _panels() if panel.event_only is None]
    empty: dict[str, str] = {}

    async def every_panel_shows_numbers() -> bool:
        empty.clear()
        for name, panel in shown:
            for query in panel.queries:
                numbers = _numbers(await api.query(_scoped(query.expr)))
                if not [n for n in numbers if not math.isnan(n)]:
                    empty[f"{name}: {panel.title} ({query.legend})"] = query.expr
        return not empty

    try:
        await wait_until(
            every_panel_shows_numbers,
            what="every panel's queries to return data",
            limit_seconds=TRAFFIC_WAIT_SECONDS,
            interval_seconds=1.0,
        )
    except AssertionError as exc:
        health = await _scrape_health(api)
        raise AssertionError(f"panels without data: {empty}; {health}") from exc

    event_only = [(name, panel) for name, panel in _panels() if panel.event_only is not None]
    assert event_only, "the dashboards declare which panels only an event fills"
    for name, panel in event_only:
        for query in panel.queries:
            assert await api.query(_scoped(query.expr)) == [], f"{name}: {panel.title}"

    async def every_rule_evaluated() -> bool:
        rules = await api.rules()
        never = "0001-01-01T00:00:00Z"  # Go's zero time: not evaluated yet
        return bool(rules) and all(rule["lastEvaluation"] != never for rule in rules)

    await wait_until(every_rule_evaluated, what="every alert evaluated", limit_seconds=30)
    rules = await api.rules()
    errors = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert errors == {}
    assert len(rules) >= 20
    for rule in rules:
        await api.query(rule["query"])  # each expression on its own, too
    active_target_alerts = {r["name"] for r in rules if r["name"] in TARGET_ALERTS and r["alerts"]}
    assert {r["name"] for r in rules} >= TARGET_ALERTS
    assert active_target_alerts == set()
