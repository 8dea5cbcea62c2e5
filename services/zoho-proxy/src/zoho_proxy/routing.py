"""Which Zoho product serves an entity: the Books-first / Inventory-fallback matrix.

The matrix is the entity catalogue's ``products`` (``tds_common.catalogue``): products from
Books, then Inventory; stock and warehouses from Inventory only; customers, invoices, bills,
credit notes and prices from Books only. A source that does not have the record (HTTP 404 or
code 1002, "does not exist") passes the read to the next; any other answer is final, HTTP 404
code 5 "Invalid URL passed" included: it says nothing about the record, and a caller reading it
as "deleted" would delete live rows.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from tds_common.catalogue import ENTITIES, EntitySpec
from tds_common.errors import UpstreamRejectedError
from tds_common.proxy_client import PageAnswer, RecordAnswer
from zoho_proxy.budget_rules import Lane
from zoho_proxy.errors import NotFoundError, ZohoServerError
from zoho_proxy.zoho.client import Params, ZohoClient, ZohoResponse

logger = logging.getLogger(__name__)

NOT_FOUND_CODES: Final = frozenset({1002})
"""``<Entity> does not exist.`` (docs/zoho-api.md#error-format)."""

LIST_PARAMS: Final = (
    "page",
    "per_page",
    "sort_column",
    "sort_order",
    "last_modified_time",
    "filter_by",
)
"""Query parameters ``GET /v1/{entity}`` forwards to Zoho."""


def entity_spec(entity: str) -> EntitySpec:
    """The catalogue entry, or our 404 for an entity the proxy does not know."""
    spec = ENTITIES.get(entity)
    if spec is None:
        raise NotFoundError(f"unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
    return spec


def is_not_found(response: ZohoResponse) -> bool:
    """Zoho says the record does not exist (code 1002), not merely "HTTP 404"."""
    return response.code in NOT_FOUND_CODES


async def _first_source(
    client: ZohoClient,
    spec: EntitySpec,
    path: str,
    *,
    org_id: str,
    lane: Lane,
    params: Params = (),
    products: tuple[str, ...] | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """Ask the entity's products (or the given ones) in priority order; the first that has
    ``path`` answers.

    Returns the product and Zoho's successful body, or None when no source has it.
    """
    for product in products or spec.products:
        response = await client.call(product, "GET", path, org_id=org_id, lane=lane, params=params)
        if is_not_found(response):
            logger.debug("%s not in %s", path, product)
            continue
        return product, _success_body(response)
    return None


async def read_record(
    client: ZohoClient, entity: str, record_id: str, *, org_id: str, lane: Lane
) -> RecordAnswer:
    """``GET /v1/{entity}/{id}``: the full detail record from the first source that has it."""
    spec = entity_spec(entity)
    if not record_id or "/" in record_id:
        raise NotFoundError(f"invalid {entity} id")
    found = await _first_source(client, spec, f"{spec.path}/{record_id}", org_id=org_id, lane=lane)
    if found is None:
        sources = " or ".join(spec.products)
        raise NotFoundError(f"{entity} {record_id} not found in Zoho {sources}")
    product, body = found
    record = body.get(spec.module_key)
    if not isinstance(record, dict):
        raise ZohoServerError(f"Zoho {product} answer lacks the {spec.module_key!r} record")
    return RecordAnswer(entity=entity, source=product, organization_id=org_id, record=record)


def list_sources(spec: EntitySpec, source: str | None) -> tuple[str, ...]:
    """The products a list may come from: all of the entity's, or the one asked for (e.g.
    Inventory's list of products, which also holds items Books lacks)."""
    if source is None:
        return spec.products
    if source not in spec.products:
        raise NotFoundError(f"{spec.name} are not listed by Zoho {source}")
    return (source,)


async def read_page(
    client: ZohoClient,
    entity: str,
    params: Params,
    *,
    org_id: str,
    lane: Lane,
    source: str | None = None,
) -> PageAnswer:
    """``GET /v1/{entity}``: one page of the list from the entity's primary source (or the
    ``source`` asked for)."""
    spec = entity_spec(entity)
    products = list_sources(spec, source)
    found = await _first_source(
        client, spec, spec.path, org_id=org_id, lane=lane, params=params, products=products
    )
    if found is None:
        raise NotFoundError(f"{entity} list not available in Zoho {' or '.join(spec.products)}")
    product, body = found
    records = body.get(spec.list_key)
    if not isinstance(records, list):
        raise ZohoServerError(f"Zoho {product} answer lacks the {spec.list_key!r} list")
    context = body.get("page_context")
    return PageAnswer(
        entity=entity,
        source=product,
        organization_id=org_id,
        records=records,
        # Absent stays absent (null): a caller must not read "no page_context" as "last page".
        page_context=context if isinstance(context, dict) else None,
    )


def _success_body(response: ZohoResponse) -> dict[str, Any]:
    body = response.json()
    if response.status_code >= 400 or not isinstance(body, dict) or body.get("code", 0) != 0:
        if response.status_code in (401, 403):
            raise ZohoServerError(
                f"Zoho {response.product} refused the proxy's token (HTTP "
                f"{response.status_code}, code {response.code}): check the scopes"
            )
        raise UpstreamRejectedError(
            f"Zoho {response.product} rejected the request",
            status_code=response.status_code,
            body=response.content.decode(errors="replace"),
        )
    return body
