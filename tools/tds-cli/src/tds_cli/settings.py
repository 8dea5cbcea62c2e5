"""Where ``tds`` finds the services: environment (``TDS_*`` and the shared names) or flags.

Defaults are the local stack's ports (ingest 8001, processor 8002, bulk-sync 8003, zoho-proxy
8004), so ``tds`` works against ``make up`` with no configuration.
"""

from __future__ import annotations

from typing import Final

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

from tds_common.settings import (
    LOCAL_DATABASE_URL,
    LOCAL_KAFKA_BOOTSTRAP,
    KafkaSettings,
    TopicSettings,
    service_config,
)

LOCAL_TOKENS_FILE: Final = ".local/service-tokens.env"
"""What ``make up`` generates (``TDS_API_TOKEN`` among the services' tokens); ``.env`` wins."""


class CliSettings(BaseSettings):
    model_config = {**service_config("TDS_"), "env_file": (LOCAL_TOKENS_FILE, ".env")}

    ingest_url: str = "http://127.0.0.1:8001"
    processor_url: str = "http://127.0.0.1:8002"
    bulk_sync_url: str = "http://127.0.0.1:8003"
    zoho_proxy_url: str = Field(
        "http://127.0.0.1:8004",
        validation_alias=AliasChoices("TDS_ZOHO_PROXY_URL", "ZOHO_PROXY_URL", "zoho_proxy_url"),
    )
    api_token: SecretStr | None = None
    """Bearer token sent to every service (``TDS_API_TOKEN``): the processor's and bulk-sync's APIs
    and zoho-proxy answer 401 without an accepted one. Locally: ``.local/service-tokens.env``."""
    timeout_seconds: float = Field(10.0, gt=0)
    """One HTTP call."""
    database_url: SecretStr = Field(
        SecretStr(LOCAL_DATABASE_URL),
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    """Only ``tds doctor``'s direct checks: PostgreSQL answers, migrations, aged-out letters."""
    kafka_bootstrap_servers: str = Field(
        LOCAL_KAFKA_BOOTSTRAP,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    kafka: KafkaSettings = Field(
        default_factory=KafkaSettings, validation_alias=AliasChoices("KAFKA", "kafka")
    )
    """The services' ``KAFKA__*`` security settings (TLS, SASL)."""
    topics: TopicSettings = Field(
        default_factory=TopicSettings, validation_alias=AliasChoices("KAFKA_TOPICS", "topics")
    )
