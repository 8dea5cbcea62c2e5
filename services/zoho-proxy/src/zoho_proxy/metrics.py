"""Prometheus metrics of the zoho-proxy service, created once per process."""

from __future__ import annotations

from tds_common.metrics import create_build_info, create_http_metrics

PREFIX = "tds_zoho_proxy"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)
