"""What a claimed write comes to: the Zoho calls and the decision, no outbox writes.

- **create**: an attempt after the first (the earlier outcome is unknown) first searches Zoho
  by the idempotency key; a record carrying it is this write, applied (``found``). Otherwise the
  key goes into the payload (:func:`~.shapes.with_key`), local_refs become Zoho ids, and it is
  POSTed. A local_ref already mapped to a Zoho record is not created twice.
- **update**: with ``expected_last_modified_time``, the current record is read first; a newer
  Zoho version is a ``conflict`` (Zoho's record goes to the mirror), unless this write's own
  earlier attempt landed (every plain field already equal). Then PUT.
- **delete**: DELETE; Zoho's 1002 (already gone) and a local_ref that never reached Zoho are
  ``applied``.

Zoho's refusals are ``rejected`` with its code and message. Transient failures propagate
(:class:`~tds_common.errors.TransientError`); the relay retries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bulk_sync.writeback import store
from bulk_sync.writeback.client import WriteClient
from bulk_sync.writeback.settings import WritebackSettings
from bulk_sync.writeback.shapes import (
    UnresolvedReferenceError,
    ZohoRejection,
    already_applied,
    references,
    resolve,
    spec_of,
    with_key,
)
from bulk_sync.writeback.store import Write
from tds_common.events import record_time
from tds_common.mirror import Change

SOURCE = "tds-write"
"""The mirror's ``source`` of rows written from Zoho's answer to TDS's own write."""


class WaitForReferenceError(Exception):
    """A referenced record's create is still open: try again shortly, not counted."""


@dataclass
class Outcome:
    """What a write ended with, and what to commit with it."""

    status: str
    metric: str
    result: Mapping[str, Any] | None = None
    error: str | None = None
    zoho_id: str | None = None
    mirror: list[Change] = field(default_factory=list)
    created: bool = False
    """A create applied: remember local_ref → zoho_id."""


class Decider:
    """Decides writes for the relay: Zoho calls through :class:`~.client.WriteClient`."""

    def __init__(
        self, pool: asyncpg.Pool, client: WriteClient, settings: WritebackSettings
    ) -> None:
        self._pool = pool
        self._client = client
        self._settings = settings

    async def decide(self, write: Write) -> Outcome:
        """The outcome of one claimed write (raises TransientError, WriteSetupError,
        WaitForReferenceError)."""
        async with self._pool.acquire() as conn:
            known = await store.zoho_ids(
                conn, write.org_id, [write.local_key, *references(write.payload)]
            )
        if write.op == "create":
            return await self._create(write, known)
        zoho_id = write.zoho_id or known.get(write.local_key)
        if write.op == "delete":
            return await self._delete(write, zoho_id)
        if zoho_id is None:
            return Outcome(
                "rejected",
                "rejected",
                error=f"{write.entity} local_ref {write.local_ref!r} has no Zoho record to update",
            )
        return await self._update(write, zoho_id, known)

    async def _resolved(
        self, write: Write, payload: Mapping[str, Any], known: Mapping[tuple[str, str], str]
    ) -> dict[str, Any]:
        try:
            return resolve(payload, known)
        except UnresolvedReferenceError as exc:
            async with self._pool.acquire() as conn:
                if await store.create_open(conn, write.org_id, exc.key):
                    raise WaitForReferenceError(str(exc)) from exc
            raise

    async def _create(self, write: Write, known: Mapping[tuple[str, str], str]) -> Outcome:
        spec = spec_of(write.entity)
        key_field = self._settings.key_fields[write.entity]
        if write.attempts > 1:  # an earlier attempt may have been applied: look before sending
            found = await self._client.find(
                write.org_id, write.entity, key_field, write.idempotency_key
            )
            if found is not None:
                return self._applied(write, found, created=True, metric="found")
        if write.local_key in known:
            return Outcome(
                "rejected",
                "rejected",
                error=f"{write.entity} local_ref "
                f"{write.local_ref!r} is already Zoho record {known[write.local_key]}",
            )
        try:
            body = await self._resolved(
                write, with_key(write.payload, key_field, write.idempotency_key), known
            )
        except UnresolvedReferenceError as exc:
            return Outcome("rejected", "rejected", error=str(exc))
        answer = await self._client.send(write.org_id, write.entity, "POST", None, body)
        if isinstance(answer, ZohoRejection):
            return _rejected(answer)
        return self._applied(write, answer.get(spec.module_key) or {}, created=True)

    async def _update(
        self, write: Write, zoho_id: str, known: Mapping[tuple[str, str], str]
    ) -> Outcome:
        try:
            body = await self._resolved(write, write.payload, known)
        except UnresolvedReferenceError as exc:
            return Outcome("rejected", "rejected", error=str(exc))
        expected = write.expected_last_modified_time
        if expected is not None:
            current = await self._client.read(write.org_id, write.entity, zoho_id)
            if current is None:
                return Outcome(
                    "rejected",
                    "rejected",
                    zoho_id=zoho_id,
                    error=f"{write.entity} {zoho_id} does not exist in Zoho",
                )
            version = record_time(current)
            if version is not None and version > expected:
                if write.attempts > 1 and already_applied(body, current):
                    return self._applied(write, current)  # our own earlier attempt landed
                return self._conflict(write, zoho_id, current, version)
        spec = spec_of(write.entity)
        answer = await self._client.send(write.org_id, write.entity, "PUT", zoho_id, body)
        if isinstance(answer, ZohoRejection):
            return _rejected(answer, zoho_id)
        return self._applied(write, answer.get(spec.module_key) or {})

    async def _delete(self, write: Write, zoho_id: str | None) -> Outcome:
        if zoho_id is None:  # its create never reached Zoho: nothing to delete
            return Outcome(
                "applied",
                "applied",
                error=f"{write.entity} local_ref {write.local_ref!r} never had a Zoho record",
            )
        sent_at = datetime.now(UTC)
        answer = await self._client.send(write.org_id, write.entity, "DELETE", zoho_id, None)
        if isinstance(answer, ZohoRejection) and not answer.not_found:
            return _rejected(answer, zoho_id)
        gone = Change(
            write.entity,
            write.org_id,
            zoho_id,
            "delete",
            {},
            SOURCE,
            observed_at=sent_at,
            read=True,
        )
        note = "already gone in Zoho" if isinstance(answer, ZohoRejection) else None
        return Outcome(
            "applied", "applied", result=None, error=note, zoho_id=zoho_id, mirror=[gone]
        )

    def _applied(
        self,
        write: Write,
        record: Mapping[str, Any],
        *,
        created: bool = False,
        metric: str = "applied",
    ) -> Outcome:
        spec = spec_of(write.entity)
        zoho_id = str(record.get(spec.id_field) or "") or None
        if zoho_id is None:
            return Outcome(
                "failed", "failed", result=record, error=f"Zoho's answer has no {spec.id_field}"
            )
        change = Change(
            write.entity,
            write.org_id,
            zoho_id,
            "upsert",
            record,
            SOURCE,
            observed_at=datetime.now(UTC),
            read=True,
        )
        return Outcome(
            "applied", metric, result=record, zoho_id=zoho_id, mirror=[change], created=created
        )

    def _conflict(
        self, write: Write, zoho_id: str, current: Mapping[str, Any], version: datetime
    ) -> Outcome:
        expected = write.expected_last_modified_time
        refresh = Change(
            write.entity,
            write.org_id,
            zoho_id,
            "upsert",
            current,
            "books",
            observed_at=datetime.now(UTC),
            read=True,
        )
        error = f"Zoho's version {version.isoformat()} is newer than the expected {expected}"
        return Outcome(
            "conflict", "conflict", result=current, error=error, zoho_id=zoho_id, mirror=[refresh]
        )


def _rejected(answer: ZohoRejection, zoho_id: str | None = None) -> Outcome:
    result = {"code": answer.code, "message": answer.message, "http_status": answer.http_status}
    return Outcome("rejected", "rejected", result=result, error=answer.describe(), zoho_id=zoho_id)
