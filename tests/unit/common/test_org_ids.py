"""One organization-id rule: ingest, the envelope (processor), zoho-proxy, bulk-sync and the CRD.

Before, ingest took ``acme-1`` while zoho-proxy and bulk-sync wanted digits, so a thin event
for such an org was answered 202 and then dead-lettered when the processor asked zoho-proxy;
and ``str.isdigit`` let zoho-proxy take digits of other scripts (Arabic-Indic, fullwidth).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from bulk_sync.models import SyncCommand, SyncRequest
from bulk_sync.reconcile import SyncSpec
from ingest.delivery import resolve_org
from ingest.errors import InvalidParameterError
from tds_common.events import EventEnvelope
from tds_common.identifiers import ORG_ID_PATTERN, is_org_id
from tds_common.settings import ServiceSettings
from tests.unit.k8s.chartcheck import CRD_FILE, load_documents
from zoho_proxy.api.deps import get_org
from zoho_proxy.errors import BadRequestError

GOOD = ["60000000001", "1", "9" * 32]
BAD = [
    "acme-1",
    "org_7",
    "1" * 33,
    "12a",
    " 123",
    "123\n",
    "\u0661\u0662\u0663",
    "\uff11\uff12\uff13",
    "1.0",
    "-1",
]


def _ingest(org: str) -> bool:
    try:
        resolve_org(org, None, "")
    except InvalidParameterError:
        return False
    return True


def _envelope(org: str) -> bool:
    try:
        EventEnvelope(org_id=org, entity="products", zoho_id="1", source="webhook")
    except ValidationError:
        return False
    return True


def _settings(org: str) -> bool:
    try:
        ServiceSettings(zoho_organization_id=org)
    except ValidationError:
        return False
    return True


def _proxy(org: str) -> bool:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/v1/products/1",
        "headers": [],
        "query_string": urlencode({"org_id": org}).encode(),
    }
    try:
        get_org(Request(scope))
    except BadRequestError:
        return False
    return True


def _bulk_sync(org: str) -> bool:
    checks = (
        lambda: SyncRequest(org_id=org),
        lambda: SyncCommand(run_id="r", org_id=org, entities=["products"], mode="full"),
        lambda: SyncSpec.model_validate({"organizationId": org, "entities": ["products"]}),
    )
    verdicts = set()
    for check in checks:
        try:
            check()
            verdicts.add(True)
        except ValidationError:
            verdicts.add(False)
    assert len(verdicts) == 1, f"bulk-sync's own models disagree on {org!r}"
    return verdicts.pop()


@pytest.mark.parametrize("org", GOOD + BAD)
def test_every_service_applies_the_same_org_rule(org: str) -> None:
    expected = org in GOOD
    assert is_org_id(org) is expected
    verdicts = {
        "ingest": _ingest(org),
        "processor envelope": _envelope(org),
        "ZOHO_ORGANIZATION_ID": _settings(org),
        "zoho-proxy": _proxy(org),
        "bulk-sync": _bulk_sync(org),
    }
    assert verdicts == dict.fromkeys(verdicts, expected)


def test_the_crd_says_the_same_rule() -> None:
    (crd,) = load_documents([CRD_FILE])
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["organizationId"]["pattern"] == ORG_ID_PATTERN


@pytest.mark.parametrize("zoho_id", ["\u0661\u0662\u0663", "\uff11\uff12\uff13", "1" * 33])
def test_bulk_sync_record_ids_take_ascii_digits_only(zoho_id: str) -> None:
    """``str.isdigit`` let a selective run ask Zoho for ids in other scripts' digits."""
    with pytest.raises(ValidationError, match="numeric ids"):
        SyncRequest(org_id="60000000001", entities=["products"], mode="selective", ids=[zoho_id])
