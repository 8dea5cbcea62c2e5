"""The one error envelope of every TDS API: ``{"error_code", "message"}``, and for 422 also
``errors``, one ``{"field", "problem"}`` per invalid field (ingest's invalid records use the same).

Our own errors (:class:`ServiceError`) carry their code and status; the framework's refusals
(unknown path, wrong method, a body that is not JSON, invalid or too large) get theirs here, so a
caller parses one shape whatever refused it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tds_common.errors import ServiceError, TransientError, truncate

HTTP_ERROR_CODES: Final = {
    400: "bad_request",
    404: "unknown_path",  # never "not_found": callers read that as "no such record"
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
"""``error_code`` of the framework's refusals, by status (others: ``http_<status>``)."""
MESSAGE_FIELDS: Final = 5
"""Invalid fields a 422's message names; ``errors`` lists all of them."""


def error_response(exc: ServiceError) -> JSONResponse:
    """The JSON body and status for one of our errors. The message never carries secrets."""
    headers = {}
    if isinstance(exc, TransientError) and exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    return JSONResponse(
        {"error_code": exc.error_code, "message": str(exc)},
        status_code=exc.http_status,
        headers=headers,
    )


def http_error_response(exc: HTTPException) -> JSONResponse:
    """One of the framework's refusals (unknown path, wrong method, oversized body…)."""
    code = HTTP_ERROR_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(
        {"error_code": code, "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def invalid_request_response(errors: Sequence[Any]) -> JSONResponse:
    """422 with each invalid field and why, or 400 when the body is not JSON at all. The
    field's value is never echoed: it may be anything the caller sent, secrets included."""
    if errors and all(error["type"] == "json_invalid" for error in errors):
        where = errors[0]["loc"][-1]
        return JSONResponse(
            {
                "error_code": "malformed_payload",
                "message": f"body is not valid JSON (at character {where})",
            },
            status_code=400,
        )
    fields = [{"field": _field(error["loc"]), "problem": error["msg"]} for error in errors]
    named = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:MESSAGE_FIELDS])
    more = f" (and {len(fields) - MESSAGE_FIELDS} more)" if len(fields) > MESSAGE_FIELDS else ""
    return JSONResponse(
        {
            "error_code": "invalid_request",
            "message": truncate(f"invalid request: {named}{more}"),
            "errors": fields,
        },
        status_code=422,
    )


def _field(loc: Sequence[Any]) -> str:
    """``body.items.0.rate``: the path to a field, without pydantic's validator wrappers
    (``function-after[check(), Model]``) that mean nothing to a caller."""
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and "[" in part))
