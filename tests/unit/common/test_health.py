from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tds_common.health import HealthRegistry, health_router


def _client(registry: HealthRegistry) -> TestClient:
    app = FastAPI()
    app.include_router(health_router(registry))
    return TestClient(app)


def test_ready_turns_503_only_after_the_failure_threshold() -> None:
    state = {"up": True}

    async def dependency() -> None:
        if not state["up"]:
            raise ConnectionError("db down")

    registry = HealthRegistry(failure_threshold=2)
    registry.add_readiness("db", dependency)
    client = _client(registry)
    assert client.get("/ready").status_code == 200
    state["up"] = False
    first = client.get("/ready")
    assert first.status_code == 200  # one failure is tolerated
    assert "db down" in first.json()["checks"]["db"]
    assert client.get("/ready").status_code == 503
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"


def test_ready_is_503_before_the_first_success() -> None:
    async def never() -> None:
        raise ConnectionError("not yet")

    registry = HealthRegistry(failure_threshold=5)
    registry.add_readiness("kafka", never)
    assert _client(registry).get("/ready").status_code == 503


def test_failed_liveness_check_is_unhealthy() -> None:
    async def dead() -> None:
        raise RuntimeError("consumer task exited")

    registry = HealthRegistry()
    registry.add_liveness("consumer", dead)
    response = _client(registry).get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "checks": {"consumer": "RuntimeError: consumer task exited"},
    }


def test_a_failing_advisory_check_degrades_health_but_never_readiness() -> None:
    async def topics_too_weak() -> None:
        raise RuntimeError("tds.zoho.events: replication factor 1, configured 3")

    async def fine() -> None:
        return None

    registry = HealthRegistry(failure_threshold=1)
    registry.add_readiness("kafka", fine)
    registry.add_advisory("kafka_topics", topics_too_weak)
    client = _client(registry)
    for _ in range(3):  # past the failure threshold, repeatedly
        ready = client.get("/ready")
        assert ready.status_code == 200
    assert "replication factor 1" in ready.json()["checks"]["kafka_topics"]
    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert "replication factor 1" in health["checks"]["kafka_topics"]


def test_an_advisory_check_not_run_yet_does_not_degrade_health() -> None:
    async def fine() -> None:
        return None

    registry = HealthRegistry()
    registry.add_advisory("kafka_topics", fine)
    health = _client(registry).get("/health").json()
    assert health == {"status": "healthy", "checks": {"kafka_topics": "not run yet"}}
