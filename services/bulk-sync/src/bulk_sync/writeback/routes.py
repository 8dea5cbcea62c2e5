"""``POST /api/zoho/writes``, ``GET /api/zoho/writes`` and ``GET /api/zoho/writes/{id}``: the
outbox over HTTP.

The same rows the ERP may insert into ``tds_outbox`` in its own transaction. A request is one
write or a list, all inserted in one transaction (all or nothing) and answered 202 with their
ids; an idempotency key already used in the organization yields the first write's id and
inserts nothing. Bad input is a 422 that names the write and the field.

The list is newest first and paged by key: ``before_id`` is the previous page's
``next_before_id`` (None once the list is exhausted); ``status`` narrows it to one status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Self

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator, model_validator

from bulk_sync.api.deps import PoolDep, SettingsDep
from bulk_sync.settings import Settings
from bulk_sync.writeback import store
from bulk_sync.writeback.shapes import Op, WriteEntity, WriteStatus, carries_key
from tds_common.errors import PermanentError
from tds_common.events import parse_zoho_timestamp
from tds_common.identifiers import OrgId

router = APIRouter(prefix="/api/zoho", tags=["write-back"])

MAX_WRITES_PER_REQUEST: Final = 500
MAX_WRITES_PER_PAGE: Final = 1000
DEFAULT_WRITES_PER_PAGE: Final = 50
KEY_PATTERN: Final = r"^[A-Za-z0-9._:-]{1,50}$"
"""The key travels in a Zoho field (``reference_number``: 50 characters, UNCONFIRMED)."""


class WriteNotFoundError(PermanentError):
    http_status = 404
    error_code = "not_found"


class InvalidWriteError(PermanentError):
    http_status = 422
    error_code = "invalid_request"


class WriteRequest(BaseModel):
    """One write, as the outbox row's columns (payload in Zoho's field names)."""

    model_config = {"extra": "forbid"}

    org_id: OrgId | None = None
    """Default: ``ZOHO_ORGANIZATION_ID``."""
    entity: WriteEntity
    op: Op
    local_ref: str = Field(min_length=1, max_length=200)
    zoho_id: str | None = Field(None, pattern=r"^[0-9]{1,32}$")
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field(pattern=KEY_PATTERN)
    expected_last_modified_time: datetime | None = None
    """Zoho's format (``2026-06-09T09:45:21-0400``) or ISO 8601 with an offset."""

    @field_validator("expected_last_modified_time", mode="before")
    @classmethod
    def _zoho_timestamp(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_zoho_timestamp(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.op == "create" and self.zoho_id is not None:
            raise ValueError("a create has no zoho_id yet")
        if self.op in ("create", "update") and not self.payload:
            raise ValueError(f"{self.op} needs a payload")
        if self.op == "delete" and self.payload:
            raise ValueError("a delete takes no payload")
        if self.expected_last_modified_time is not None and self.op != "update":
            raise ValueError("expected_last_modified_time applies to updates only")
        return self


class WritesAccepted(BaseModel):
    ids: list[int]


class WriteSummary(BaseModel):
    """One write as listed; ``GET /api/zoho/writes/{id}`` adds its payload and Zoho's result."""

    id: int
    org_id: str
    entity: WriteEntity
    op: Op
    local_ref: str
    zoho_id: str | None
    status: WriteStatus
    attempts: int
    error: str | None
    """The first 120 characters of the last error."""
    created_at: datetime
    updated_at: datetime
    applied_at: datetime | None


class WritesPage(BaseModel):
    writes: list[WriteSummary]
    """Newest first."""
    next_before_id: int | None
    """``before_id`` of the next (older) page; None when this page came back short."""


def _new_write(index: int, write: WriteRequest, settings: Settings) -> store.NewWrite:
    org_id = write.org_id or settings.zoho_organization_id
    if not org_id:
        raise InvalidWriteError(f"write {index}: no org_id and ZOHO_ORGANIZATION_ID is not set")
    key_field = settings.writeback.key_fields[write.entity]
    if carries_key(write.payload, key_field):
        raise InvalidWriteError(
            f"write {index}: payload sets {key_field}, which carries TDS's idempotency key"
        )
    return store.NewWrite(
        org_id=org_id,
        entity=write.entity,
        op=write.op,
        local_ref=write.local_ref,
        zoho_id=write.zoho_id,
        payload=write.payload,
        idempotency_key=write.idempotency_key,
        expected_last_modified_time=write.expected_last_modified_time,
    )


@router.post("/writes", status_code=202, response_model=WritesAccepted)
async def submit_writes(
    body: WriteRequest
    | Annotated[list[WriteRequest], Field(min_length=1, max_length=MAX_WRITES_PER_REQUEST)],
    pool: PoolDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Queue one write or a list for Zoho (202 with their ids, in the order given)."""
    writes = body if isinstance(body, list) else [body]
    rows = [_new_write(index, write, settings) for index, write in enumerate(writes)]
    async with pool.acquire() as conn, conn.transaction():
        ids = await store.insert(conn, rows)
    return JSONResponse(WritesAccepted(ids=ids).model_dump(), status_code=202)


@router.get("/writes", response_model=WritesPage)
async def list_writes(
    pool: PoolDep,
    status: WriteStatus | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_WRITES_PER_PAGE)] = DEFAULT_WRITES_PER_PAGE,
) -> WritesPage:
    """The newest writes first (only ``status`` ones when given), older than ``before_id``."""
    async with pool.acquire() as conn:
        rows = await store.list_writes(conn, status, before_id, limit)
    writes = [WriteSummary.model_validate(row) for row in rows]
    last = writes[-1].id if len(writes) == limit else None
    return WritesPage(writes=writes, next_before_id=last)


@router.get("/writes/{write_id}")
async def get_write(write_id: int, pool: PoolDep) -> dict[str, Any]:
    """One write: status, attempts, Zoho's record (``result``) or error (404 when unknown)."""
    async with pool.acquire() as conn:
        row = await store.fetch(conn, write_id)
    if row is None:
        raise WriteNotFoundError(f"no write {write_id}")
    return row
