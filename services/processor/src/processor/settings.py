"""Settings of the processor service (env prefix ``PROCESSOR_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field

from tds_common.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("PROCESSOR_")

    port: int = Field(8002, ge=1, le=65535)
