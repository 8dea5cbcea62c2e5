"""Settings of the ingest service (env prefix ``INGEST_``; shared names unprefixed).

``WEBHOOK_SECRETS`` is the shared name of docs/architecture.md#configuration. It binds each token
to the organizations it may write, as a JSON object of organization id → tokens::

    WEBHOOK_SECRETS='{"60012345678": ["tok-a", "tok-b"], "60087654321": ["tok-c"]}'

Every token listed is accepted, so a secret is rotated by adding the new one under its
organization, switching Zoho's workflow webhooks over, then removing the old one. The older form,
a comma-separated list of tokens (``WEBHOOK_SECRETS=tok-a,tok-b``), still reads: its tokens are
bound to ``ZOHO_ORGANIZATION_ID`` only, and without that setting startup fails with a message
saying so (a token that may write every organization is never accepted). It has no default:
ingest is the only service on the internet and must never run open.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ingest.auth import WebhookToken
from tds_common.settings import ServiceSettings, service_config
from tds_common.versions import max_version_skew_field

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
MIN_SECRET_CHARS: Final = 16
"""Shorter tokens are guessable; the local stack's ``local-webhook-secret`` is 20 characters."""

_PLACEHOLDERS: Final = frozenset({"changeme", "change-me", "secret", "password", "xxx", "todo"})


def _split_secrets(value: Any) -> Any:
    """``"a,b"`` → ``["a", "b"]``; lists (from code) pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    return value


def _bound_tokens(value: Any) -> Any:
    """``WEBHOOK_SECRETS`` as :class:`WebhookToken` data: a JSON object (or a dict, from code)
    of organization → tokens binds them; a comma-separated list (or a list) leaves them unbound
    until :meth:`Settings._bind_legacy_tokens`."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            # json's message quotes no input, but say only where it broke, to be sure.
            raise ValueError("WEBHOOK_SECRETS is not a valid JSON object") from None
    if isinstance(value, dict):
        orgs_of: dict[str, set[str]] = {}
        for org, tokens in value.items():
            for token in _split_secrets(tokens) if isinstance(tokens, str) else tokens:
                orgs_of.setdefault(str(token).strip(), set()).add(str(org).strip())
        return [{"token": token, "orgs": orgs} for token, orgs in orgs_of.items()]
    parts = _split_secrets(value)
    if isinstance(parts, list):
        return [
            p if isinstance(p, WebhookToken | dict) else {"token": p, "orgs": ()} for p in parts
        ]
    return parts


def _check_secrets(secrets: list[SecretStr], name: str, *, required: bool) -> list[SecretStr]:
    if required and not secrets:
        raise ValueError(f"{name} must list at least one secret")
    for position, secret in enumerate(secrets, start=1):
        text = secret.get_secret_value()
        # The message names the position, never the value.
        if not text:
            raise ValueError(f"{name}: secret #{position} is empty")
        if text.lower() in _PLACEHOLDERS or len(text) < MIN_SECRET_CHARS:
            raise ValueError(
                f"{name}: secret #{position} is a placeholder or shorter than "
                f"{MIN_SECRET_CHARS} characters"
            )
    return secrets


class Settings(ServiceSettings):
    # Validation errors must not print the offending value: it may be a secret.
    model_config = {**service_config("INGEST_"), "hide_input_in_errors": True}

    port: int = Field(8001, ge=1, le=65535)
    webhook_secrets: Annotated[list[WebhookToken], NoDecode] = Field(
        validation_alias=AliasChoices("WEBHOOK_SECRETS", "webhook_secrets"),
    )
    """Tokens accepted in ``X-TDS-Webhook-Token`` (or ``?token=``), each with the organizations
    it may write (see the module docstring for the two forms)."""
    webhook_hmac_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """``INGEST_WEBHOOK_HMAC_SECRETS``: when set, ``X-Zoho-Webhook-Signature`` (hex
    HMAC-SHA256 of the raw body under any of these keys) is required as well as the token."""
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024)
    """Largest request body accepted; enforced while reading the stream (413 beyond it)."""
    publish_timeout_seconds: float = Field(5.0, gt=0, le=60)
    """How long a request waits for the broker's acknowledgement before answering 503. Keep it
    well under Zoho's webhook timeout (about 10-15 s) so Zoho sees our 503, not its own timeout."""
    retry_after_seconds: int = Field(30, ge=1, le=3600)
    """``Retry-After`` sent with a 503 when Kafka could not take the event."""
    kafka_start_timeout_seconds: float = Field(60.0, gt=0)
    """How long startup keeps trying to reach the broker before the process gives up."""
    stats_require_token: bool = True
    """``/api/zoho/webhooks/inbox/stats`` asks for a webhook token too, because the Ingress
    routes the whole ``/api/zoho/webhooks`` prefix to the internet; set false to let in-cluster
    monitoring read it without one."""
    stats_max_window_seconds: int = Field(24 * 3600, ge=60)
    """The longest window ``/api/zoho/webhooks/inbox/stats`` reports (memory is per minute)."""
    max_version_skew_seconds: float = max_version_skew_field()
    """``MAX_VERSION_SKEW_SECONDS`` (shared): a ``last_modified_time`` further ahead of our
    clock is refused with 422 (it would freeze the mirror row)."""

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        return _bound_tokens(value)

    @field_validator("webhook_hmac_secrets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_secrets(value)

    @field_validator("webhook_secrets")
    @classmethod
    def _tokens_usable(cls, value: list[WebhookToken]) -> list[WebhookToken]:
        _check_secrets([t.token for t in value], "WEBHOOK_SECRETS", required=True)
        return value

    @model_validator(mode="after")
    def _bind_legacy_tokens(self) -> Self:
        """Tokens of the comma-separated form write ``ZOHO_ORGANIZATION_ID`` only."""
        if all(t.orgs for t in self.webhook_secrets):
            return self
        if not self.zoho_organization_id:
            raise ValueError(
                "WEBHOOK_SECRETS lists tokens without organizations and ZOHO_ORGANIZATION_ID is "
                "not set: bind each token to the organizations it may write, as JSON "
                '{"<org_id>": ["<token>", ...]}, or set ZOHO_ORGANIZATION_ID'
            )
        default = frozenset({self.zoho_organization_id})
        self.webhook_secrets = [
            t if t.orgs else WebhookToken(token=t.token, orgs=default) for t in self.webhook_secrets
        ]
        return self

    @field_validator("webhook_hmac_secrets")
    @classmethod
    def _hmac_usable(cls, value: list[SecretStr]) -> list[SecretStr]:
        return _check_secrets(value, "INGEST_WEBHOOK_HMAC_SECRETS", required=False)
