"""The chart ships a scheduled incremental ZohoSync: dropped webhooks are caught by default."""

from __future__ import annotations

import pytest

from tds_common.catalogue import ENTITIES
from tests.unit.k8s.conftest import Render, by_kind

pytestmark = pytest.mark.timeout(900)  # the first test to need helm may build it

ALL_ENTITIES = list(ENTITIES)


def test_a_scheduled_incremental_sync_of_every_entity_by_default(render: Render) -> None:
    documents = render(sets={"global.zohoOrganizationId": "60000000001"})
    syncs = by_kind(documents, "ZohoSync")
    assert list(syncs) == ["scheduled-incremental"]
    sync = syncs["scheduled-incremental"]
    assert sync["apiVersion"] == "tds.dev/v1alpha1"
    assert sync["spec"] == {
        "organizationId": "60000000001",
        "entities": ALL_ENTITIES,
        "mode": "incremental",
        "schedule": "17 * * * *",
    }
    # Created after the CRD exists (same release), replaced on upgrade.
    annotations = sync["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_the_default_sync_follows_its_values(render: Render) -> None:
    sets: dict[str, str | int | bool] = {
        "global.zohoOrganizationId": "70000000001",
        "operator.defaultSync.schedule": "*/15 * * * *",
        "operator.defaultSync.entities[0]": "invoices",
    }
    sync = by_kind(render(sets=sets), "ZohoSync")["scheduled-incremental"]
    assert sync["spec"]["organizationId"] == "70000000001"
    assert sync["spec"]["schedule"] == "*/15 * * * *"
    assert sync["spec"]["entities"] == ["invoices"]


@pytest.mark.parametrize(
    "sets",
    [
        {},  # no organization to sync
        {"global.zohoOrganizationId": "60000000001", "operator.defaultSync.enabled": False},
        {"global.zohoOrganizationId": "60000000001", "operator.enabled": False},
    ],
)
def test_no_default_sync_without_an_org_or_when_switched_off(
    render: Render, sets: dict[str, str | int | bool]
) -> None:
    assert "ZohoSync" not in {doc["kind"] for doc in render(sets=sets)}
