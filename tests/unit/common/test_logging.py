from __future__ import annotations

import json
import logging

from tds_common.logging import JsonFormatter


def _format(**extra: object) -> dict[str, object]:
    record = logging.LogRecord("tds.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    entry: dict[str, object] = json.loads(JsonFormatter().format(record))
    return entry


def test_one_json_object_with_context_keys() -> None:
    entry = _format(topic="tds.zoho.events", partition=3)
    assert entry["message"] == "hello world"
    assert entry["severity"] == "INFO"
    assert entry["logger"] == "tds.test"
    assert entry["topic"] == "tds.zoho.events" and entry["partition"] == 3


def test_uvicorn_colour_duplicate_is_dropped() -> None:
    assert "color_message" not in _format(color_message="\x1b[32mhello\x1b[0m")
