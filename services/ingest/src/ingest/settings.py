"""Settings of the ingest service (env prefix ``INGEST_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field

from tds_common.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("INGEST_")

    port: int = Field(8001, ge=1, le=65535)
