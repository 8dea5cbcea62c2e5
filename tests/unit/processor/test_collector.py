"""The processor's garbage-collector settings reach the collector, and only sane ones do."""

from __future__ import annotations

import gc

import pytest
from pydantic import ValidationError

from processor.collector import tuned_collector
from processor.settings import CollectorSettings, Settings


def test_the_gen0_threshold_from_the_environment_reaches_the_collector_and_is_put_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROCESSOR_GC__GEN0_THRESHOLD", "12345")
    before = gc.get_threshold()
    with tuned_collector(Settings().gc):
        assert gc.get_threshold() == (12345, *before[1:])
        assert gc.get_freeze_count() > 0  # the start-up heap is out of the collector's passes
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_zero_keeps_pythons_threshold() -> None:
    before = gc.get_threshold()
    with tuned_collector(CollectorSettings(gen0_threshold=0)):
        assert gc.get_threshold() == before
    assert gc.get_threshold() == before


def test_the_collector_is_put_back_when_the_service_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), tuned_collector(CollectorSettings(gen0_threshold=5000)):
        raise RuntimeError("the service stopped")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("value", ["-1", "2000000", "many"])
def test_a_bad_threshold_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PROCESSOR_GC__GEN0_THRESHOLD", value)
    before = gc.get_threshold()
    with pytest.raises(ValidationError, match="gen0_threshold"):
        Settings()
    assert gc.get_threshold() == before
