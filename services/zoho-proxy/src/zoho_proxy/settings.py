"""Settings of the zoho-proxy service (env prefix ``ZOHO_PROXY_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field

from tds_common.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("ZOHO_PROXY_")

    port: int = Field(8004, ge=1, le=65535)
