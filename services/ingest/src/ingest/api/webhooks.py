"""``POST /api/zoho/webhooks/{entity}``: authenticate, read, validate, publish, then answer.

The order is the point: the token is checked before the body is read; the media type before
reading; the size while reading; the HMAC (when configured) before parsing; and 202 only after
Kafka acknowledged the event. Every outcome is counted in the metrics and the inbox stats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Self

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel

from ingest import metrics
from ingest.api.deps import IngestState, state_of
from ingest.api.schema import ERRORS, OPENAPI_BODY, ORG_SCHEMA, optional_text
from ingest.auth import check_org, check_signature, check_token
from ingest.body import media_type, read_limited
from ingest.delivery import EVENT_OPS, resolve_op, resolve_org
from ingest.errors import PublishUnavailableError, RejectedWebhookError, UnknownEntityError
from ingest.payload import parse_webhook
from ingest.versions import refuse_future_version
from tds_common.catalogue import WEBHOOK_ENTITIES, EntitySpec, get_entity
from tds_common.events import PAYLOAD_CHECKED, EventEnvelope
from tds_common.tracing import current_trace_id

logger = logging.getLogger(__name__)

ROUTE: Final = "/api/zoho/webhooks/{entity}"
UNKNOWN_ENTITY: Final = "unknown"

router = APIRouter(tags=["webhooks"])


class WebhookAccepted(BaseModel):
    """The event is durable in Kafka."""

    status: str = "accepted"
    event_id: str
    entity: str
    zoho_id: str
    op: str


@dataclass(frozen=True)
class Delivery:
    """What a request says besides its body: token, organization and operation (each from a
    header or the query), the body's signature, media type and announced length.

    Read from the request by :meth:`of` rather than declared as FastAPI parameters: FastAPI
    validates each declared parameter with pydantic on every request, about a fifth of a
    webhook's CPU for seven optional strings that are checked here anyway (after the token).
    :data:`PARAMETERS` documents them (and the path's entity) in the OpenAPI schema as FastAPI
    would."""

    header_token: str | None
    query_token: str | None
    org_header: str | None
    org_query: str | None
    op_query: str | None
    event_header: str | None
    signature: str | None
    content_type: str | None
    content_length: str | None

    @classmethod
    def of(cls, request: Request) -> Self:
        # One pass over the raw headers (ASGI gives their names in lower case) rather than a
        # scan of all of them per header read; reversed, so that of a repeated header the
        # first value wins, as with Starlette's Headers.get.
        raw: dict[bytes, bytes] = dict(reversed(request.scope["headers"]))
        query = request.query_params
        return cls(
            header_token=_text(raw, b"x-tds-webhook-token"),
            query_token=query.get("token"),
            org_header=_text(raw, b"x-tds-org"),
            org_query=query.get("org_id"),
            op_query=query.get("op"),
            event_header=_text(raw, b"x-tds-event"),
            signature=_text(raw, b"x-zoho-webhook-signature"),
            content_type=_text(raw, b"content-type"),
            content_length=_text(raw, b"content-length"),
        )


def _text(raw: dict[bytes, bytes], name: bytes) -> str | None:
    value = raw.get(name)
    return None if value is None else value.decode("latin-1")


PARAMETERS: Final = [
    {
        "name": "entity",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(WEBHOOK_ENTITIES), "title": "Entity"},
    },
    optional_text("token", "query"),
    optional_text("org_id", "query", **ORG_SCHEMA),
    optional_text("op", "query", enum=["upsert", "delete"]),
    optional_text("x-tds-webhook-token", "header"),
    optional_text("x-tds-org", "header", **ORG_SCHEMA),
    optional_text("x-tds-event", "header", enum=sorted(EVENT_OPS)),
    optional_text("x-zoho-webhook-signature", "header"),
]


def _entity_spec(entity: str) -> EntitySpec:
    if entity not in WEBHOOK_ENTITIES:
        raise UnknownEntityError("unknown entity; expected one of: " + ", ".join(WEBHOOK_ENTITIES))
    return get_entity(entity)


@router.post(
    ROUTE,
    status_code=202,
    response_model=WebhookAccepted,
    responses=ERRORS,
    openapi_extra={**OPENAPI_BODY, "parameters": PARAMETERS},
)
async def receive_webhook(request: Request) -> Response:
    """Receive one Zoho workflow webhook; 202 once it is durable in Kafka."""
    # Shortcuts for the CPU of every webhook, none visible outside: the state is read with a
    # plain call rather than through a dependency and the entity from the path rather than as
    # a declared parameter (FastAPI's solving of either cost more than the read; PARAMETERS
    # documents the entity), and the answer is encoded here: ``WebhookAccepted``, which
    # ``response_model`` still documents, is neither built nor validated again per request.
    state = state_of(request)
    entity: str = request.path_params["entity"]
    label = entity if entity in WEBHOOK_ENTITIES else UNKNOWN_ENTITY
    # The request's server span (tds_common.tracing.TracingMiddleware) continues the caller's
    # traceparent; the publisher passes it on in the Kafka message.
    trace.get_current_span().set_attribute("tds.entity", label)
    state.stats.received(label)
    log_context = {
        "request_id": getattr(request.state, "request_id", None),
        "entity": label,
        # Also kept on the record itself, for handlers that format it later (out of the span).
        "trace_id": current_trace_id(),
    }
    try:
        accepted = await _handle(request, state, entity, Delivery.of(request))
    except (RejectedWebhookError, PublishUnavailableError) as exc:
        state.stats.rejected(label, exc.reason)
        metrics.WEBHOOKS.labels(label, str(exc.http_status), exc.reason).inc()
        level = logging.WARNING if exc.http_status >= 500 else logging.INFO
        logger.log(level, "webhook rejected: %s", exc, extra={**log_context, "reason": exc.reason})
        raise
    except Exception:
        state.stats.rejected(label, "internal_error")
        metrics.WEBHOOKS.labels(label, "500", "internal_error").inc()
        logger.exception("webhook failed", extra=log_context)
        raise
    state.stats.accepted(label)
    metrics.WEBHOOKS.labels(label, "202", "accepted").inc()
    logger.info(
        "webhook accepted",
        extra={**log_context, "event_id": accepted.event_id, "op": accepted.op},
    )
    return accepted.response()


@dataclass(frozen=True)
class _Accepted:
    """What :class:`WebhookAccepted` says, without a model's validation."""

    event_id: str
    entity: str
    zoho_id: str
    op: str

    def response(self) -> JSONResponse:
        """The 202 answer, as ``WebhookAccepted`` documents it."""
        body = {"status": "accepted", "event_id": self.event_id, "entity": self.entity}
        body |= {"zoho_id": self.zoho_id, "op": self.op}
        return JSONResponse(body, status_code=202)


async def _handle(
    request: Request, state: IngestState, entity: str, delivery: Delivery
) -> _Accepted:
    settings = state.settings
    allowed_orgs = check_token(
        delivery.header_token, delivery.query_token, settings.webhook_secrets
    )
    spec = _entity_spec(entity)
    org = resolve_org(delivery.org_header, delivery.org_query, settings.zoho_organization_id)
    check_org(org, allowed_orgs)
    operation = resolve_op(delivery.op_query, delivery.event_header)
    kind = media_type(delivery.content_type)
    body = await read_limited(request.stream(), delivery.content_length, settings.max_body_bytes)
    metrics.PAYLOAD_BYTES.labels(spec.name).observe(len(body))
    check_signature(body, delivery.signature, settings.webhook_hmac_secrets)
    parsed = parse_webhook(body, kind, spec)
    refuse_future_version(parsed.last_modified_time, settings.max_version_skew_seconds)
    envelope = EventEnvelope.model_validate(
        {
            "org_id": org,
            "entity": spec.name,
            "zoho_id": parsed.zoho_id,
            "op": operation,
            "source": "webhook",
            "last_modified_time": parsed.last_modified_time,
            "payload": parsed.record,
        },
        # parse_webhook parsed the record with parse_json, which holds it to the same limits.
        context={PAYLOAD_CHECKED: True},
    )
    await state.publisher.publish(envelope)
    return _Accepted(envelope.event_id, spec.name, parsed.zoho_id, operation)
