"""Which Zoho calls the refresh token's OAuth scopes cover, learnt from Zoho's own answers.

Zoho answers code 57 both for a dead access token and for a call outside the token's scopes
(docs/zoho-api.md, "Scopes"). A new token fixes only the first. Minting one for the second burns
our mint limit (9 per 10 minutes) within minutes, and then every call of every replica fails. So
a 57 is judged by what is known about the call, per credential and *call kind* (organization,
product, resource = the path's first segment, operation = READ / CREATE / UPDATE / DELETE):

1. a kind found ``denied`` less than ``scope_denial_ttl_seconds`` ago: a missing scope;
2. a kind Zoho answered before (``allowed``): the scope covers it, so the token is dead,
   unless the token was minted moments ago (then the organization's permissions may have
   changed: 3.; with nothing to compare, the 401 is returned as it is and nothing minted);
3. else the same token is tried once on an allowed kind (a one-record list read): if Zoho
   answers it, the token works and the scope is missing; if that is refused too, it is dead;
4. with nothing allowed to try, the token's age decides: one minted less than
   ``token_min_age_for_invalidation_seconds`` ago cannot be dead yet (a missing scope); an older
   one is replaced and the call retried once, and a 57 again on the fresh token is a missing
   scope.

A missing scope is remembered (``denied``) and answered with our 403 without calling Zoho until
the verdict is older than ``scope_denial_ttl_seconds``. Verdicts live in
``zoho_proxy_scope_verdicts``, shared by replicas and restarts, so a crash loop does not relearn
them by minting; this replica keeps what it learnt in memory in front of the table.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import asyncpg

from tds_common.db import database_unavailable_as_error
from zoho_proxy.errors import ScopeMissingError

logger = logging.getLogger(__name__)

T = TypeVar("T")

OPERATIONS: Final = {
    "GET": "READ",
    "HEAD": "READ",
    "OPTIONS": "READ",
    "POST": "CREATE",
    "PUT": "UPDATE",
    "PATCH": "UPDATE",
    "DELETE": "DELETE",
}
"""HTTP method → the OPERATION part of a Zoho scope (``ZohoBooks.invoices.READ``)."""

_RESOURCE: Final = re.compile(r"^[a-z_]{1,40}$")
_ALLOWED: Final = "allowed"

Probe = Callable[["CallKind"], Awaitable[bool | None]]
"""Tries the failing token on an allowed kind: True it works, False refused, None can't tell."""


@dataclass(frozen=True)
class CallKind:
    """What a scope covers: one operation on one resource of a product, in an organization."""

    org_id: str
    product: str
    resource: str
    operation: str

    def describe(self) -> str:
        return f"{self.operation} on {self.product} /{self.resource} (organization {self.org_id})"


def kind_of(org_id: str, product: str, method: str, path: str) -> CallKind | None:
    """The kind of a call; None for paths whose first segment is not a plain name."""
    resource = path.strip("/").split("/", 1)[0]
    operation = OPERATIONS.get(method.upper())
    if operation is None or not _RESOURCE.match(resource):
        return None
    return CallKind(org_id, product, resource, operation)


def scope_missing(kind: CallKind) -> ScopeMissingError:
    return ScopeMissingError(
        f"Zoho refused {kind.describe()}: the refresh token's OAuth scopes do not cover it "
        "(code 57 while the access token works). Issue a refresh token with that module's "
        "scope (ZOHO_REFRESH_TOKEN)"
    )


class ScopeVerdicts:
    """Allowed and denied call kinds of one credential; see the module docstring."""

    def __init__(
        self, pool: asyncpg.Pool | None, credential_key: str, denial_ttl_seconds: float
    ) -> None:
        """``pool`` None keeps verdicts in this replica's memory only (unit tests)."""
        self._pool = pool
        self._key = credential_key
        self._ttl = denial_ttl_seconds
        self._allowed: set[CallKind] = set()
        self._denied_until: dict[CallKind, float] = {}
        self._locks: dict[CallKind, asyncio.Lock] = {}

    def denied(self, kind: CallKind) -> bool:
        """Known here to be outside the scopes (no database read: this runs before every call)."""
        until = self._denied_until.get(kind)
        return until is not None and asyncio.get_running_loop().time() < until

    async def allow(self, kind: CallKind) -> None:
        """Zoho answered a call of this kind: its scope is there."""
        if kind in self._allowed:
            return
        self._denied_until.pop(kind, None)
        await self._store(kind, allowed=True)
        self._allowed.add(kind)

    async def token_is_dead(self, kind: CallKind, probe: Probe, *, young: bool) -> bool | None:
        """Judge a 57 on ``kind``: True dead token, False missing scope (remembered), None
        unknown: replace the token and retry. ``young``: the token was minted moments ago.

        One judgement per kind at a time on this replica: a burst of 57s costs one probe.
        """
        async with self._locks.setdefault(kind, asyncio.Lock()):
            if self.denied(kind):
                return False
            stored = await self._lookup(kind)
            if isinstance(stored, float):  # another replica's denial: keep its expiry
                self._denied_until[kind] = asyncio.get_running_loop().time() + stored
                return False
            if stored == _ALLOWED and not young:
                return True
            target = await self._probe_target(kind)
            alive = await probe(target) if target is not None else None
            if alive is not None:
                if alive:
                    await self.deny(kind)
                return not alive
            # Nothing to compare with. A kind Zoho answered before is never denied on a guess.
            if young and stored != _ALLOWED:
                await self.deny(kind)
                return False
            return None

    async def deny(self, kind: CallKind) -> None:
        """Zoho refused this kind while the token worked: answer it ourselves for a while."""
        if kind not in self._denied_until:
            logger.warning("Zoho OAuth scope missing for %s", kind.describe())
        self._allowed.discard(kind)
        await self._store(kind, allowed=False)
        self._denied_until[kind] = asyncio.get_running_loop().time() + self._ttl

    async def _store(self, kind: CallKind, *, allowed: bool) -> None:
        if self._pool is None:
            return
        await self._run(
            self._pool.execute,
            "INSERT INTO zoho_proxy_scope_verdicts (credential_key, org_id, product, resource, "
            "operation, allowed) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (credential_key, org_id, product, resource, operation) DO UPDATE "
            "SET allowed = excluded.allowed, checked_at = clock_timestamp()",
            self._key,
            kind.org_id,
            kind.product,
            kind.resource,
            kind.operation,
            allowed,
        )

    async def _lookup(self, kind: CallKind) -> Literal["allowed"] | float | None:
        """The shared verdict: allowed; denied, as the seconds the denial has left; or None
        (unknown, or a denial past its TTL)."""
        if kind in self._allowed:
            return _ALLOWED
        if self._pool is None:
            return None
        row = await self._run(
            self._pool.fetchrow,
            "SELECT allowed, extract(epoch FROM clock_timestamp() - checked_at) AS age "
            "FROM zoho_proxy_scope_verdicts WHERE credential_key = $1 AND org_id = $2 "
            "AND product = $3 AND resource = $4 AND operation = $5",
            self._key,
            kind.org_id,
            kind.product,
            kind.resource,
            kind.operation,
        )
        if row is None:
            return None
        if row["allowed"]:
            self._allowed.add(kind)
            return _ALLOWED
        left = self._ttl - float(row["age"])
        return left if left > 0 else None

    async def _probe_target(self, failing: CallKind) -> CallKind | None:
        """An allowed read of another kind, the most recently confirmed first."""
        if self._pool is None:
            others = [k for k in self._allowed if k != failing and k.operation == "READ"]
            return others[0] if others else None
        row = await self._run(
            self._pool.fetchrow,
            "SELECT org_id, product, resource FROM zoho_proxy_scope_verdicts "
            "WHERE credential_key = $1 AND allowed AND operation = 'READ' "
            "AND (org_id, product, resource) <> ($2, $3, $4) ORDER BY checked_at DESC LIMIT 1",
            self._key,
            failing.org_id,
            failing.product,
            failing.resource,
        )
        if row is None:
            return None
        return CallKind(row["org_id"], row["product"], row["resource"], "READ")

    @staticmethod
    async def _run(query: Callable[..., Awaitable[T]], *args: object) -> T:
        with database_unavailable_as_error():
            return await query(*args)
