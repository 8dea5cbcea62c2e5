"""Settings shared by every service, read from the environment (and a local ``.env``).

The names users already know (``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``, ``ZOHO_PROXY_URL``,
``ZOHO_ORGANIZATION_ID``, ``LOG_LEVEL``) are read unprefixed through aliases. Settings that belong
to one service carry that service's prefix (``INGEST_PORT``, ``PROCESSOR_BATCH_MAX_RECORDS``…):
each service subclasses :class:`ServiceSettings` and sets ``env_prefix``.

Build settings once in ``__main__`` and inject them; never at import time, so tests can swap them.
Log them only through :func:`loggable`, which masks every ``SecretStr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal, Self

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tds_common.identifiers import OrgId

LOCAL_DATABASE_URL: Final = "postgresql://postgres@127.0.0.1:55432/tds"
LOCAL_KAFKA_BOOTSTRAP: Final = "127.0.0.1:9092"


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The pydantic-settings config every service uses, with its own prefix."""
    return SettingsConfigDict(
        env_prefix=env_prefix,
        env_file=".env",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        # Validation errors must not print the offending value: it may be a secret.
        hide_input_in_errors=True,
    )


class TopicSettings(BaseModel):
    """Kafka topic names (contract: docs/architecture.md#kafka); overridable for tests."""

    events: str = "tds.zoho.events"
    """Webhook and sync events, key ``org_id:entity:zoho_id``."""
    sync_requests: str = "tds.sync.requests"
    """Bulk sync commands."""
    dead_letters: str = "tds.zoho.events.dlq"
    """Events that can never succeed."""
    dead_letters_retention_days: float = Field(30.0, gt=0)
    """``retention.ms`` of the DLQ topic when it is created: long enough to fix a cause and replay
    (``tds doctor`` warns about dead letters older than the topic keeps)."""


class KafkaSettings(BaseModel):
    """How every Kafka client of ours authenticates, and the durability its topics must have.

    ``KAFKA__*`` (e.g. ``KAFKA__SECURITY_PROTOCOL=SASL_SSL``); applied to every producer,
    consumer and admin client by :func:`tds_common.kafka.client_options`.
    """

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """``SASL_SSL`` in production: SCRAM credentials over TLS. ``SSL``: TLS (with a client
    certificate for mutual TLS). ``PLAINTEXT`` only for a local broker on loopback."""
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: Path | None = None
    """PEM bundle of the CA(s) that signed the brokers' certificates; empty: the system's."""
    ssl_cert_file: Path | None = None
    """PEM client certificate, for brokers that require mutual TLS."""
    ssl_key_file: Path | None = None
    """PEM private key of ``ssl_cert_file``."""
    ssl_key_password: SecretStr | None = None
    """Password of ``ssl_key_file`` when it is encrypted."""
    replication_factor: int = Field(3, ge=1)
    """Replicas of each topic: topics are created with it, and health reports a topic that has
    fewer or more (docs/architecture.md, "Kafka")."""
    min_insync_replicas: int = Field(2, ge=1)
    """``min.insync.replicas`` of each topic: with ``acks=all`` a write is acknowledged only once
    this many replicas have it. Created with it; health reports a mismatch."""

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"{self.security_protocol} needs sasl_username and sasl_password")
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("ssl_cert_file and ssl_key_file go together")
        if (self.ssl_ca_file or self.ssl_cert_file) and not self.uses_tls:
            raise ValueError(f"TLS files are set but security_protocol is {self.security_protocol}")
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError("min_insync_replicas cannot exceed replication_factor")
        return self


class ConsumerGroupSettings(BaseModel):
    """What every Kafka consumer of ours needs (see :func:`tds_common.kafka.create_consumer`).

    Services subclass it for their ``<PREFIX>CONSUMER__*`` group, set their own ``group_id``
    default and add how their loop polls and retries.
    """

    group_id: str
    """Consumer group; every replica joins it, partitions are shared among them."""
    session_timeout_ms: int = Field(30_000, ge=6_000)


class BackoffSettings(BaseModel):
    """An exponential backoff's bounds, checked to be in order.

    Settings groups that retry inherit it and redeclare both fields with their own defaults.
    """

    retry_initial_seconds: float = Field(0.5, gt=0)
    """First backoff."""
    retry_max_seconds: float = Field(30.0, gt=0)
    """Backoff ceiling."""

    @model_validator(mode="after")
    def _backoff_order(self) -> Self:
        if self.retry_max_seconds < self.retry_initial_seconds:
            raise ValueError("retry_max_seconds must be >= retry_initial_seconds")
        return self


class ProxyClientSettings(BaseModel):
    """How a service calls zoho-proxy (see :func:`tds_common.proxy_client.proxy_http_client`).

    Services subclass it for their ``<PREFIX>PROXY__*`` group with their own timeout default.
    """

    timeout_seconds: float = Field(30.0, gt=0)
    """One call to the proxy."""
    token: SecretStr | None = None
    """The caller's own bearer token for zoho-proxy (one of its ``ZOHO_PROXY_CLIENT_TOKENS`` or
    ``ZOHO_PROXY_WRITER_TOKENS``); without one, zoho-proxy answers 401."""


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclass and set ``model_config = service_config("SVC_")``."""

    model_config = service_config("TDS_")

    host: str = "127.0.0.1"
    """Address the HTTP server binds to; ``0.0.0.0`` in containers."""
    port: int = Field(8000, ge=1, le=65535)
    """HTTP port for the API, ``/health``, ``/ready`` and ``/metrics``."""
    metrics_port: int | None = Field(None, ge=1, le=65535)
    """``<PREFIX>METRICS_PORT``: serve ``/metrics`` on this port of its own as well, so a
    monitoring peer can be let in to that port alone (the chart sets it; see
    :func:`tds_common.server.serve`). Unset: ``/metrics`` on ``port`` only."""
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    log_json: bool = Field(True, validation_alias=AliasChoices("LOG_JSON", "log_json"))
    """JSON lines for machines; plain text with LOG_JSON=false for a terminal."""
    database_url: SecretStr = Field(
        SecretStr(LOCAL_DATABASE_URL),
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    """PostgreSQL DSN (``postgresql://user:pass@host:port/db``). Secret: it may carry a password."""
    kafka_bootstrap_servers: str = Field(
        LOCAL_KAFKA_BOOTSTRAP,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    """Comma-separated ``host:port`` list."""
    kafka: KafkaSettings = Field(
        default_factory=KafkaSettings, validation_alias=AliasChoices("KAFKA", "kafka")
    )
    """Security and topic durability; e.g. ``KAFKA__SECURITY_PROTOCOL=SASL_SSL``."""
    topics: TopicSettings = Field(
        default_factory=TopicSettings, validation_alias=AliasChoices("KAFKA_TOPICS", "topics")
    )
    """Topic names; e.g. ``KAFKA_TOPICS__EVENTS=tds.zoho.events``."""
    zoho_organization_id: OrgId | Literal[""] = Field(
        "", validation_alias=AliasChoices("ZOHO_ORGANIZATION_ID", "zoho_organization_id")
    )
    """The default organization, used when a webhook does not name one (Zoho's numeric id)."""
    max_request_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    """Largest request body the API accepts (413 beyond it, before an endpoint reads it):
    write-back batches and pass-through writes. Ingest bounds webhooks with its own
    ``INGEST_MAX_BODY_BYTES`` instead."""
    shutdown_timeout_seconds: float = Field(20.0, gt=0)
    """Budget for a graceful stop; keep below the pod's terminationGracePeriodSeconds."""
    ready_failure_threshold: int = Field(3, ge=1)
    """Consecutive failed dependency checks before ``/ready`` answers 503."""


def loggable(settings: BaseSettings) -> dict[str, Any]:
    """Settings as JSON-safe data with secrets masked (``SecretStr`` dumps as ``**********``)."""
    return settings.model_dump(mode="json")
