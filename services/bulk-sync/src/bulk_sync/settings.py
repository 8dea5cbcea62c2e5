"""Settings of the bulk-sync service (env prefix ``BULK_SYNC_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field

from tds_common.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("BULK_SYNC_")

    port: int = Field(8003, ge=1, le=65535)
