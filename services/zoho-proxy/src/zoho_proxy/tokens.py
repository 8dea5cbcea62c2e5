"""Zoho access tokens: minted once per expiry for all replicas, shared, encrypted at rest.

The ``zoho_proxy_tokens`` row of the credential is the lease. A replica that needs a token reads
it; only when it is missing, about to expire or unreadable does the replica take the
credential's advisory lock, look again (another replica may have just refreshed it), and mint.
Everybody else blocks on the lock and then finds the fresh token, so a token expiring under
load, or three replicas restarting, costs one mint.

A mint is written down twice, each time committed: the attempt before Zoho is asked (with
``synchronous_commit=on``, whatever the pool's setting), then its result. A replica killed while
Zoho mints, or a rollback afterwards, cannot lose a mint from our count, so a crash loop cannot
walk into Zoho's lockout. (This is why the lock is an advisory lock on the session and not the
row lock: a row lock lasts only as long as one transaction.)

Tokens are encrypted with ``MultiFernet``: the current key encrypts, old keys
(``token_encryption_old_keys``) still decrypt. A stored token that no key decrypts (a key rotated
without keeping the old one) counts as absent and is replaced, within the mint limits.

The row also remembers what Zoho said last, so no replica hammers the token endpoint:

- ``locked_out`` after "Access Denied" (too many mints; HTTP 400, or any other status): nobody
  asks again for ``token_lockout_backoff_seconds``; Zoho only lifts the lock after a quiet
  period.
- ``revoked`` after an HTTP 200 ``{"error": "invalid_code"}`` or a rejected client: an operator
  must act; re-checked every ``token_revoked_backoff_seconds``.
- ``failing`` when the endpoint is unreachable or answers 5xx: a short backoff.
- our own mint log keeps us under Zoho's 10 mints per 10 minutes whatever happens.

Tokens never reach logs, metrics or errors: only Zoho's error codes do.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import asyncpg
import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tds_common.db import database_unavailable_as_error
from zoho_proxy import metrics
from zoho_proxy.errors import TokenRevokedError, TokenUnavailableError
from zoho_proxy.settings import Settings

logger = logging.getLogger(__name__)

TokenState = Literal["ok", "locked_out", "revoked", "failing"]
TOKEN_STATES: Final[tuple[TokenState, ...]] = ("ok", "locked_out", "revoked", "failing")

DEFAULT_EXPIRES_IN_SECONDS: Final = 3600.0
REVOKED_ERRORS: Final = frozenset(
    {"invalid_code", "invalid_client", "invalid_client_secret", "unauthorized_client"}
)
"""Token-endpoint errors that no retry can fix (docs/zoho-api.md#token-endpoint-errors)."""
LOCKOUT_PHRASES: Final = ("access denied", "too many requests")
"""Zoho's mint-throttle answer, recognised in the body whatever the HTTP status (Zoho sends 400;
200 is UNCONFIRMED but Zoho answers its other token errors with 200)."""
LOCK_CLASS_SQL: Final = "hashtext('zoho_proxy_tokens')"
"""First half of the credential's advisory-lock key: a key space of its own."""


def credential_key(client_id: str, refresh_token: str) -> str:
    """The row key of a credential: a hash, so the table never holds the refresh token."""
    return hashlib.sha256(f"{client_id}\n{refresh_token}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class MintOutcome:
    """What one token request produced: a token, or the state Zoho put us in."""

    state: TokenState
    access_token: str | None = None
    expires_in_seconds: float = 0.0
    error: str | None = None


def classify_token_response(status_code: int, body: Any) -> MintOutcome:
    """Read Zoho's token response, including errors sent with HTTP 200.

    The shapes: docs/zoho-api.md#token-endpoint-errors.
    """
    if not isinstance(body, dict):
        state: TokenState = "failing"
        return MintOutcome(state, error=f"http_{status_code}_non_json")
    error = body.get("error")
    if status_code == 200 and not error and isinstance(body.get("access_token"), str):
        expires = body.get("expires_in", DEFAULT_EXPIRES_IN_SECONDS)
        try:
            seconds = float(expires)
        except (TypeError, ValueError):
            seconds = DEFAULT_EXPIRES_IN_SECONDS
        if "expires_in_sec" in body or seconds > 86400:
            # The historic shape gave expires_in in milliseconds beside expires_in_sec.
            seconds = float(body.get("expires_in_sec") or seconds / 1000)
        return MintOutcome("ok", body["access_token"], seconds)
    text = (str(error or "") + " " + str(body.get("error_description", ""))).lower()
    if any(phrase in text for phrase in LOCKOUT_PHRASES):
        return MintOutcome("locked_out", error="access_denied")
    if isinstance(error, str) and error in REVOKED_ERRORS:
        return MintOutcome("revoked", error=error)
    if status_code >= 500 or status_code == 200:
        return MintOutcome("failing", error=str(error or f"http_{status_code}")[:64])
    return MintOutcome("failing", error=f"http_{status_code}")


@dataclass
class _Cached:
    token: str
    minted_at: datetime
    minted_loop_time: float
    """Loop time of the mint (this replica's clock)."""
    fresh_until: float
    """Loop time after which we refresh (expiry minus the margin)."""
    valid_until: float
    """Loop time of the real expiry (usable while minting is blocked)."""


class TokenManager:
    """Hands out a valid access token; the one place that talks to Zoho Accounts."""

    def __init__(self, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings) -> None:
        self._pool = pool
        self._http = http
        self._settings = settings
        self._cipher = MultiFernet([Fernet(key) for key in settings.token_keys()])
        self._key = credential_key(
            settings.zoho_client_id, settings.zoho_refresh_token.get_secret_value()
        )
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()
        self.state: TokenState = "ok"
        self.last_error: str | None = None
        self._publish_state("ok")

    async def get(self) -> str:
        """A valid access token; :class:`TokenUnavailableError` / :class:`TokenRevokedError`."""
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:  # one refresh per replica; the row lock does it across replicas
            cached = self._fresh()
            if cached is not None:
                return cached
            return await self._load_or_mint()

    def is_young(self, token: str) -> bool:
        """``token`` is the current one, was minted less than the minimum age ago and is not
        due for refresh yet: a 401 for it is not a dead token (see :mod:`zoho_proxy.scopes`).
        One past its refresh time may have expired on its way to Zoho (a slow call)."""
        cached = self._cached
        if cached is None or cached.token != token:
            return False
        now = asyncio.get_running_loop().time()
        age = now - cached.minted_loop_time
        return age < self._settings.token_min_age_for_invalidation_seconds and (
            now < cached.fresh_until
        )

    async def invalidate(self, token: str, *, verified: bool = False) -> bool:
        """Zoho answered 401 to ``token``. Returns whether a retry with a new token may help.

        Only the token that failed is dropped (compare-and-clear), so a burst of 401s costs one
        mint; and unless the token is ``verified`` dead (:mod:`zoho_proxy.scopes`), one younger
        than the minimum age is kept, because a 401 for a fresh token means a missing scope,
        which a new token would not fix.
        """
        cached = self._cached
        if cached is None or cached.token != token:
            return True  # someone already replaced it
        loop = asyncio.get_running_loop()
        age = 0.0 if verified else self._settings.token_min_age_for_invalidation_seconds
        with database_unavailable_as_error():
            async with self._pool.acquire() as conn:
                now: datetime = await conn.fetchval("SELECT clock_timestamp()")
                if (now - cached.minted_at).total_seconds() < age:
                    return False
                await conn.execute(
                    "UPDATE zoho_proxy_tokens SET access_token_enc = NULL, expires_at = NULL, "
                    "updated_at = clock_timestamp() WHERE credential_key = $1 AND minted_at = $2",
                    self._key,
                    cached.minted_at,
                )
        if self._cached is cached:
            self._cached = None
        logger.info("access token rejected by Zoho; dropped it (at %.0f)", loop.time())
        return True

    def _fresh(self) -> str | None:
        cached = self._cached
        if cached is not None and asyncio.get_running_loop().time() < cached.fresh_until:
            return cached.token
        return None

    async def _load_or_mint(self) -> str:
        with database_unavailable_as_error():
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_SELECT, self._key)
                token = self._adopt(row, fresh=True)
                if token is not None:
                    return token
                await conn.execute(
                    "INSERT INTO zoho_proxy_tokens (credential_key) VALUES ($1) "
                    "ON CONFLICT DO NOTHING",
                    self._key,
                )
                await conn.execute(
                    f"SELECT pg_advisory_lock({LOCK_CLASS_SQL}, hashtext($1))", self._key
                )
                try:
                    row = await conn.fetchrow(_SELECT, self._key)
                    token = self._adopt(row, fresh=True)
                    if token is not None:
                        return token
                    assert row is not None
                    failure = await self._refresh_locked(conn, row)
                    if failure is None:
                        token = self._adopt(await conn.fetchrow(_SELECT, self._key), fresh=False)
                        assert token is not None
                        return token
                finally:
                    await conn.execute(
                        f"SELECT pg_advisory_unlock({LOCK_CLASS_SQL}, hashtext($1))", self._key
                    )
        # No new token. An old one that has not expired yet still works meanwhile.
        token = self._adopt(row, fresh=False)
        if token is not None:
            return token
        raise failure

    async def _refresh_locked(
        self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], row: asyncpg.Record
    ) -> TokenUnavailableError | TokenRevokedError | None:
        """Mint under the lock, record attempt and outcome; returns the error to raise, if any."""
        s = self._settings
        now: datetime = row["now"]
        if row["blocked_until"] is not None and row["blocked_until"] > now:
            self._observe(row["state"], row["last_error"])
            return self._error(row["state"], (row["blocked_until"] - now).total_seconds())
        window_start = now - timedelta(seconds=s.token_mint_window_seconds)
        mints = sorted(t for t in row["mint_times"] if t > window_start)
        if len(mints) >= s.token_max_mints:
            wait = (mints[0] - window_start).total_seconds()
            metrics.TOKEN_REFRESHES.labels("throttled_locally").inc()
            logger.warning("token mint limit reached locally; next mint in %.0f s", wait)
            return TokenUnavailableError(
                "Zoho access-token mint limit reached; waiting before the next refresh",
                retry_after_seconds=wait,
            )
        mints.append(now)
        async with conn.transaction():
            # Committed, and flushed, before Zoho is asked: whatever happens to this process
            # next, the attempt counts against the mint limit.
            await conn.execute("SET LOCAL synchronous_commit TO on")
            await conn.execute(
                "UPDATE zoho_proxy_tokens SET mint_times = $2, updated_at = clock_timestamp() "
                "WHERE credential_key = $1",
                self._key,
                mints,
            )
        outcome = await self._mint()
        metrics.TOKEN_REFRESHES.labels("success" if outcome.state == "ok" else outcome.state).inc()
        self._observe(outcome.state, outcome.error)
        if outcome.state == "ok":
            assert outcome.access_token is not None
            await conn.execute(
                "UPDATE zoho_proxy_tokens SET access_token_enc = $2, minted_at = $3, "
                "expires_at = $4, state = 'ok', "
                "blocked_until = NULL, last_error = NULL, updated_at = clock_timestamp() "
                "WHERE credential_key = $1",
                self._key,
                self._cipher.encrypt(outcome.access_token.encode()).decode(),
                now,
                now + timedelta(seconds=outcome.expires_in_seconds),
            )
            logger.info(
                "minted a Zoho access token (expires in %.0f s)", outcome.expires_in_seconds
            )
            return None
        backoff = {
            "locked_out": s.token_lockout_backoff_seconds,
            "revoked": s.token_revoked_backoff_seconds,
            "failing": s.token_failure_backoff_seconds,
        }[outcome.state]
        await conn.execute(
            "UPDATE zoho_proxy_tokens SET state = $2, last_error = $3, "
            "blocked_until = $4, updated_at = clock_timestamp() WHERE credential_key = $1",
            self._key,
            outcome.state,
            outcome.error,
            now + timedelta(seconds=backoff),
        )
        logger.error(
            "Zoho token refresh failed: state=%s error=%s; next attempt in %.0f s",
            outcome.state,
            outcome.error,
            backoff,
        )
        return self._error(outcome.state, backoff)

    async def _mint(self) -> MintOutcome:
        s = self._settings
        data = {
            "grant_type": "refresh_token",
            "client_id": s.zoho_client_id,
            "client_secret": s.zoho_client_secret.get_secret_value(),
            "refresh_token": s.zoho_refresh_token.get_secret_value(),
        }
        try:
            response = await self._http.post(s.token_url, data=data)
        except httpx.HTTPError as exc:
            return MintOutcome("failing", error=type(exc).__name__)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return classify_token_response(response.status_code, body)

    def _adopt(self, row: asyncpg.Record | None, *, fresh: bool) -> str | None:
        """The stored token, if it lasts long enough and a key decrypts it; cached."""
        if row is None or row["access_token_enc"] is None or row["expires_at"] is None:
            return None
        margin = self._settings.token_refresh_margin_seconds if fresh else 1.0
        if row["expires_at"] - timedelta(seconds=margin) <= row["now"]:
            return None
        try:
            token = self._cipher.decrypt(row["access_token_enc"].encode()).decode()
        except InvalidToken:
            metrics.TOKEN_UNREADABLE.inc()
            logger.warning(
                "stored Zoho access token cannot be decrypted with the configured keys "
                "(ZOHO_PROXY_TOKEN_ENCRYPTION_KEY rotated without keeping the old key in "
                "ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS, or keys differing between replicas); "
                "treating it as absent"
            )
            return None
        return self._remember(row, token)

    def _remember(self, row: asyncpg.Record, token: str) -> str:
        left = (row["expires_at"] - row["now"]).total_seconds()
        loop_now = asyncio.get_running_loop().time()
        self._cached = _Cached(
            token,
            row["minted_at"],
            minted_loop_time=loop_now - (row["now"] - row["minted_at"]).total_seconds(),
            fresh_until=loop_now + left - self._settings.token_refresh_margin_seconds,
            valid_until=loop_now + left,
        )
        metrics.TOKEN_EXPIRY.set(row["expires_at"].timestamp())
        if row["state"] == "ok":
            self._observe("ok", None)
        return token

    def _observe(self, state: TokenState, error: str | None) -> None:
        if state != self.state:
            logger.warning("Zoho credential state: %s -> %s (%s)", self.state, state, error)
        self.state = state
        self.last_error = error
        self._publish_state(state)

    def _publish_state(self, state: TokenState) -> None:
        for name in TOKEN_STATES:
            metrics.TOKEN_STATE.labels(name).set(1 if name == state else 0)

    @staticmethod
    def _error(state: str, wait: float) -> TokenUnavailableError | TokenRevokedError:
        if state == "revoked":
            return TokenRevokedError(
                "Zoho rejected the refresh token or client credentials; issue a new refresh "
                "token (ZOHO_REFRESH_TOKEN)"
            )
        if state == "locked_out":
            return TokenUnavailableError(
                "Zoho locked access-token minting (too many refreshes); backing off",
                retry_after_seconds=wait,
            )
        return TokenUnavailableError(
            "Zoho token endpoint failing; backing off", retry_after_seconds=wait
        )


_SELECT: Final = (
    "SELECT access_token_enc, expires_at, minted_at, mint_times, state, blocked_until, "
    "last_error, clock_timestamp() AS now FROM zoho_proxy_tokens WHERE credential_key = $1"
)
