"""Zoho Accounts' token rules (docs/zoho-api.md#oauth): minting, throttling, caps, expiry, revoking.

Pure state, no HTTP: :mod:`zoho_sim.routes.oauth` turns the outcomes into responses. Token
values are never logged or returned by the control API; refresh tokens are shown masked.
"""

from __future__ import annotations

import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from zoho_sim import scopes
from zoho_sim.clock import Clock
from zoho_sim.settings import OAuthSettings

ACCESS_DENIED_BODY: Final = {
    "error_description": (
        "You have made too many requests continuously. Please try again after some time."
    ),
    "error": "Access Denied",
    "status": "failure",
}

TokenState = Literal["valid", "unknown", "expired", "revoked"]


def new_token() -> str:
    """Zoho's token shape: ``1000.<32 hex>.<32 hex>``."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def mask(token: str) -> str:
    return f"{token[:5]}…{token[-4:]}"


@dataclass
class RefreshToken:
    value: str
    created: float
    scope: frozenset[str]
    redirect_uri: str = ""
    mints: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    active: deque[str] = field(default_factory=deque)
    minted_total: int = 0
    denied_total: int = 0


@dataclass
class AccessToken:
    refresh: str
    expires_at: float
    scope: frozenset[str]
    revoked: bool = False


@dataclass
class GrantCode:
    expires_at: float
    redirect_uri: str
    scope: frozenset[str]


class Outcome:
    """What the token endpoint answers: HTTP status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body


class TokenAuthority:
    """Refresh tokens, access tokens and grant codes of the one simulated client."""

    def __init__(self, settings: OAuthSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}
        self._codes: dict[str, GrantCode] = {}
        self.errors: Counter[str] = Counter()
        self.mints = 0
        self.denied = 0
        self.revocations = 0
        default = settings.refresh_token.get_secret_value()
        self._refresh[default] = RefreshToken(
            default, clock.monotonic(), scopes.parse(settings.scope)
        )

    # --- token endpoint -------------------------------------------------------------------
    def _error(self, error: str) -> Outcome:
        self.errors[error] += 1
        return Outcome(200, {"error": error})

    def token(self, params: dict[str, str], api_domain: str) -> Outcome:
        """``POST /oauth/v2/token`` with the merged query/form parameters."""
        grant = params.get("grant_type", "")
        if grant not in {"refresh_token", "authorization_code"}:
            return self._error("unsupported_grant_type")
        if params.get("client_id") != self.settings.client_id:
            return self._error("invalid_client")
        if params.get("client_secret") != self.settings.client_secret.get_secret_value():
            return self._error("invalid_client_secret")
        if grant == "authorization_code":
            return self._exchange_code(params, api_domain)
        refresh = self._refresh.get(params.get("refresh_token", ""))
        if refresh is None:
            return self._error("invalid_code")
        denied = self._throttle(refresh)
        if denied is not None:
            return denied
        return Outcome(200, self._mint(refresh, api_domain))

    def _throttle(self, refresh: RefreshToken) -> Outcome | None:
        now = self._clock.monotonic()
        window = self.settings.mint_window_seconds
        while refresh.mints and refresh.mints[0] <= now - window:
            refresh.mints.popleft()
        locked = now < refresh.locked_until
        if locked and self.settings.lockout_extends_on_retry:
            refresh.locked_until = now + max(self.settings.lockout_seconds, 0.0)
        if not locked and len(refresh.mints) >= self.settings.mint_limit:
            locked = True
            # lockout_seconds 0 = the documented rule: blocked for the rest of the window.
            until = refresh.mints[0] + window
            refresh.locked_until = (
                now + self.settings.lockout_seconds
                if (self.settings.lockout_seconds > 0)
                else until
            )
        if not locked:
            return None
        refresh.denied_total += 1
        self.denied += 1
        return Outcome(self.settings.lockout_http_status, dict(ACCESS_DENIED_BODY))

    def _mint(self, refresh: RefreshToken, api_domain: str) -> dict[str, Any]:
        now = self._clock.monotonic()
        token = new_token()
        lifetime = self.settings.access_token_lifetime_seconds
        self._access[token] = AccessToken(refresh.value, now + lifetime, refresh.scope)
        refresh.mints.append(now)
        refresh.minted_total += 1
        refresh.active.append(token)
        while len(refresh.active) > self.settings.max_active_access_tokens:
            self._access[refresh.active.popleft()].revoked = True
        self.mints += 1
        return {
            "access_token": token,
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": lifetime,
        }

    def _exchange_code(self, params: dict[str, str], api_domain: str) -> Outcome:
        code = self._codes.pop(params.get("code", ""), None)
        if code is None or code.expires_at <= self._clock.monotonic():
            return self._error("invalid_code")
        if code.redirect_uri and params.get("redirect_uri", "") != code.redirect_uri:
            return self._error("invalid_redirect_uri")
        refresh = RefreshToken(new_token(), self._clock.monotonic(), code.scope, code.redirect_uri)
        self._refresh[refresh.value] = refresh
        while len(self._refresh) > self.settings.max_refresh_tokens:
            oldest = min(self._refresh.values(), key=lambda r: r.created)
            self._drop_refresh(oldest.value)
        body = self._mint(refresh, api_domain)
        return Outcome(200, {**body, "refresh_token": refresh.value})

    def issue_code(self, redirect_uri: str = "", scope: str | None = None) -> str:
        """A single-use authorization code, as the consent screen would hand out."""
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        expires = self._clock.monotonic() + self.settings.grant_code_lifetime_seconds
        granted = scopes.parse(self.settings.scope if scope is None else scope)
        self._codes[code] = GrantCode(expires, redirect_uri, granted)
        return code

    # --- revocation -----------------------------------------------------------------------
    def _drop_refresh(self, value: str) -> None:
        refresh = self._refresh.pop(value)
        for token in refresh.active:
            self._access[token].revoked = True

    def revoke(self, token: str) -> bool:
        """``/token/revoke``: a refresh token (with its access tokens) or one access token."""
        if token in self._refresh:
            self._drop_refresh(token)
        elif token in self._access:
            self._access[token].revoked = True
        else:
            return False
        self.revocations += 1
        return True

    def revoke_all_access(self) -> int:
        """Fault injection: every live access token stops working (code 57)."""
        live = [a for a in self._access.values() if not a.revoked]
        for access in live:
            access.revoked = True
        self.revocations += len(live)
        return len(live)

    # --- API calls ------------------------------------------------------------------------
    def scope_of(self, token: str) -> frozenset[str]:
        access = self._access.get(token)
        return access.scope if access is not None else frozenset()

    def check(self, token: str) -> TokenState:
        access = self._access.get(token)
        if access is None:
            return "unknown"
        if access.revoked:
            return "revoked"
        if access.expires_at <= self._clock.monotonic():
            return "expired"
        return "valid"

    def snapshot(self) -> dict[str, Any]:
        now = self._clock.monotonic()
        default = self.settings.refresh_token.get_secret_value()
        return {
            "mints": self.mints,
            "access_denied": self.denied,
            "revocations": self.revocations,
            "errors": dict(self.errors),
            "refresh_tokens": [
                {
                    "token": "default" if r.value == default else mask(r.value),
                    "minted": r.minted_total,
                    "denied": r.denied_total,
                    "mints_in_window": sum(
                        1 for t in r.mints if t > now - self.settings.mint_window_seconds
                    ),
                    "locked": now < r.locked_until,
                    "locked_for_seconds": max(r.locked_until - now, 0.0),
                    "active_access_tokens": sum(1 for t in r.active if self.check(t) == "valid"),
                }
                for r in self._refresh.values()
            ],
        }
