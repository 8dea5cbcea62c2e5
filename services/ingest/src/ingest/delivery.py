"""What a webhook's URL and headers say about the delivery: which organization, which operation.

Zoho's payload names neither (docs/zoho-api.md#webhook-payload), so both are configured on the
workflow webhook:

- organization: ``X-TDS-Org`` header, else ``org_id`` query parameter, else
  ``ZOHO_ORGANIZATION_ID`` (docs/architecture.md#webhook-organization); Zoho's numeric id, by
  the one rule (:mod:`tds_common.identifiers`) that the envelope, zoho-proxy and bulk-sync apply;
- operation: ``upsert`` unless the URL carries ``?op=delete`` or the webhook sends the header
  ``X-TDS-Event: deleted``. ``?op=create`` and ``?op=edit`` are accepted as upserts, so one URL
  template per workflow trigger (``?op=create|edit|delete``) works too. Point a workflow rule
  triggered on deletion at the same URL with either; the record still travels in the payload
  (Zoho sends the record as it was), and the processor soft-deletes the row. Both spellings
  may be given only if they agree.
"""

from __future__ import annotations

from typing import Final

from ingest.errors import InvalidParameterError
from tds_common.events import Operation
from tds_common.identifiers import ORG_ID_RULE, is_org_id

QUERY_OPS: Final[dict[str, Operation]] = {
    "upsert": "upsert",
    "create": "upsert",
    "edit": "upsert",
    "delete": "delete",
}
EVENT_OPS: Final[dict[str, Operation]] = {
    "created": "upsert",
    "edited": "upsert",
    "updated": "upsert",
    "upsert": "upsert",
    "deleted": "delete",
    "delete": "delete",
}


def resolve_org(header: str | None, query: str | None, default: str) -> str:
    org = header or query or default
    if not org:
        raise InvalidParameterError(
            "no organization: send X-TDS-Org or ?org_id=, or set ZOHO_ORGANIZATION_ID"
        )
    if not is_org_id(org):
        raise InvalidParameterError(ORG_ID_RULE)
    return org


def resolve_op(query: str | None, event_header: str | None) -> Operation:
    from_query = from_header = None
    if query is not None:
        from_query = QUERY_OPS.get(query.strip().lower())
        if from_query is None:
            raise InvalidParameterError("op must be one of: " + ", ".join(sorted(QUERY_OPS)))
    if event_header is not None:
        from_header = EVENT_OPS.get(event_header.strip().lower())
        if from_header is None:
            raise InvalidParameterError(
                "X-TDS-Event must be one of: " + ", ".join(sorted(EVENT_OPS))
            )
    if from_query and from_header and from_query != from_header:
        raise InvalidParameterError("op and X-TDS-Event disagree")
    return from_query or from_header or "upsert"
