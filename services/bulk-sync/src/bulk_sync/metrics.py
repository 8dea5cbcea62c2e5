"""Prometheus metrics of the bulk-sync service, created once per process."""

from __future__ import annotations

from tds_common.metrics import create_build_info, create_http_metrics

PREFIX = "tds_bulk_sync"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)
