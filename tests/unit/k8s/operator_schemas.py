"""Schemas for the third-party custom resources the chart renders (no CRDs of theirs offline).

kubernetes-validate knows only the Kubernetes API. ServiceMonitor and PrometheusRule (Prometheus
Operator, monitoring.coreos.com/v1) and ScaledObject (KEDA, keda.sh/v1alpha1) are checked
against these hand-written schemas instead: the fields their API references document at the
levels the chart writes (for KEDA, the Kafka scaler, the only one the chart uses), closed with
``additionalProperties: false`` so a misspelt field fails here rather than being pruned silently
by the API server. Rule expressions go to promtool.
"""

from __future__ import annotations

from typing import Any, Final

_STRING: Final = {"type": "string"}
_STRINGS: Final = {"type": "array", "items": _STRING}
_LABELS: Final = {"type": "object", "additionalProperties": _STRING}
_OBJECT: Final = {"type": "object"}
_DURATION: Final = {"type": "string", "pattern": r"^(0|(([0-9]+)(y|w|d|h|m|s|ms))+)$"}


def _closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


_METADATA: Final = _closed(
    {"name": _STRING, "namespace": _STRING, "labels": _LABELS, "annotations": _LABELS},
    ["name"],
)
_LABEL_SELECTOR: Final = _closed(
    {
        "matchLabels": _LABELS,
        "matchExpressions": {
            "type": "array",
            "items": _closed(
                {
                    "key": _STRING,
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": _STRINGS,
                },
                ["key", "operator"],
            ),
        },
    }
)

_ENDPOINT: Final = _closed(
    dict.fromkeys(
        ("params", "tlsConfig", "bearerTokenSecret", "authorization", "basicAuth", "oauth2"),
        _OBJECT,
    )
    | {key: {"type": "array"} for key in ("metricRelabelings", "relabelings")}
    | {
        key: {"type": "boolean"}
        for key in (
            "honorLabels",
            "honorTimestamps",
            "trackTimestampsStaleness",
            "followRedirects",
            "enableHttp2",
            "filterRunning",
        )
    }
    | {
        "port": _STRING,
        "targetPort": {"type": ["string", "integer"]},
        "path": {"type": "string", "pattern": "^/"},
        "scheme": {"enum": ["http", "https"]},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
        "bearerTokenFile": _STRING,
        "proxyUrl": _STRING,
    }
)

SERVICE_MONITOR: Final = _closed(
    {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _METADATA,
        "spec": _closed(
            {
                "jobLabel": _STRING,
                "targetLabels": _STRINGS,
                "podTargetLabels": _STRINGS,
                "endpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT},
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": _closed({"any": {"type": "boolean"}, "matchNames": _STRINGS}),
                "sampleLimit": {"type": "integer"},
                "targetLimit": {"type": "integer"},
                "labelLimit": {"type": "integer"},
                "attachMetadata": _OBJECT,
                "scrapeClass": _STRING,
            },
            ["endpoints", "selector"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_RULE: Final = _closed(
    {
        "alert": _STRING,
        "record": _STRING,
        "expr": {"type": ["string", "integer"]},
        "for": _DURATION,
        "keep_firing_for": _DURATION,
        "labels": _LABELS,
        "annotations": _LABELS,
    },
    ["expr"],
)
PROMETHEUS_RULE: Final = _closed(
    {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _METADATA,
        "spec": _closed(
            {
                "groups": {
                    "type": "array",
                    "items": _closed(
                        {
                            "name": _STRING,
                            "interval": _DURATION,
                            "limit": {"type": "integer"},
                            "query_offset": _DURATION,
                            "partial_response_strategy": _STRING,
                            "labels": _LABELS,
                            "rules": {"type": "array", "items": _RULE},
                        },
                        ["name", "rules"],
                    ),
                }
            },
            ["groups"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

# KEDA's Kafka scaler: every metadata value is a string.
_KAFKA_METADATA: Final = _closed(
    dict.fromkeys(
        (
            "bootstrapServers",
            "consumerGroup",
            "topic",
            "lagThreshold",
            "activationLagThreshold",
            "offsetResetPolicy",
            "allowIdleConsumers",
            "scaleToZeroOnInvalidOffset",
            "excludePersistentLag",
            "limitToPartitionsWithLag",
            "ensureEvenDistributionOfPartitions",
            "partitionLimitation",
            "version",
            "sasl",
            "tls",
        ),
        _STRING,
    ),
    ["bootstrapServers", "consumerGroup", "lagThreshold"],
)
SCALED_OBJECT: Final = _closed(
    {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": _closed(
            {
                "scaleTargetRef": _closed(
                    {
                        "name": _STRING,
                        "apiVersion": _STRING,
                        "kind": _STRING,
                        "envSourceContainerName": _STRING,
                    },
                    ["name"],
                ),
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": _OBJECT,
                "advanced": _OBJECT,
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": _closed(
                        {
                            "type": {"const": "kafka"},
                            "name": _STRING,
                            "metadata": _KAFKA_METADATA,
                            "authenticationRef": _closed(
                                {"name": _STRING, "kind": _STRING}, ["name"]
                            ),
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                        },
                        ["type", "metadata"],
                    ),
                },
            },
            ["scaleTargetRef", "triggers"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

SCHEMAS: Final = {
    "ServiceMonitor": SERVICE_MONITOR,
    "PrometheusRule": PROMETHEUS_RULE,
    "ScaledObject": SCALED_OBJECT,
}
