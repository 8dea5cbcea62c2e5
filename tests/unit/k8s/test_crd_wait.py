"""Waiting for a CRD to be served tolerates the moment its conditions are still null."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import kube
from tests.k8s.conftest import CRD_NAME, Cluster


@dataclass(frozen=True)
class ScriptedCluster(Cluster):
    """``kubectl get crd`` answers from a script, one answer a call."""

    answers: list[dict[str, Any]] = field(default_factory=list)

    def kubectl_json(self, *args: str) -> Any:
        assert args == ("get", "crd", CRD_NAME)
        return self.answers.pop(0)


def test_a_crd_whose_conditions_are_still_null_is_waited_for(tmp_path: Path) -> None:
    established = {"type": "Established", "status": "True"}
    answers: list[dict[str, Any]] = [
        {"status": {"conditions": None}},  # what made `kubectl wait` fail
        {},
        {"status": {"conditions": [{"type": "NamesAccepted", "status": "True"}]}},
        {"status": {"conditions": [established]}},
    ]
    cluster = ScriptedCluster(kube.KubeConfig(home=tmp_path), answers)
    cluster.wait_established()
    assert answers == []
