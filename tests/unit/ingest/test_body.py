"""Media types and the size limit, which stops reading as soon as it is passed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ingest.body import media_type, read_limited
from ingest.errors import PayloadTooLargeError, UnsupportedMediaError


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("application/json", "json"),
        ("application/json;charset=UTF-8", "json"),
        ("Application/JSON; charset=utf-8", "json"),
        ("application/vnd.zoho+json", "json"),
        ("application/x-www-form-urlencoded", "form"),
        ("application/x-www-form-urlencoded; charset=UTF-8", "form"),
    ],
)
def test_accepted_media_types(header: str, kind: str) -> None:
    assert media_type(header) == kind


@pytest.mark.parametrize(
    "header", [None, "", "text/plain", "multipart/form-data; boundary=x", "application/xml"]
)
def test_other_media_types_are_415(header: str | None) -> None:
    with pytest.raises(UnsupportedMediaError) as info:
        media_type(header)
    assert info.value.http_status == 415


async def _chunks(sizes: list[int], pulled: list[int]) -> AsyncIterator[bytes]:
    for size in sizes:
        pulled.append(size)
        yield b"x" * size


async def test_reads_whole_body_within_limit() -> None:
    pulled: list[int] = []
    assert await read_limited(_chunks([10, 20], pulled), None, 30) == b"x" * 30


async def test_stops_reading_once_over_the_limit() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLargeError):
        await read_limited(_chunks([20, 20, 20, 20], pulled), None, 30)
    assert pulled == [20, 20]  # the third and fourth chunks were never pulled


async def test_declared_content_length_over_limit_reads_nothing() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLargeError) as info:
        await read_limited(_chunks([1], pulled), "31", 30)
    assert pulled == []
    assert info.value.http_status == 413


async def test_understated_content_length_is_still_enforced() -> None:
    pulled: list[int] = []
    with pytest.raises(PayloadTooLargeError):
        await read_limited(_chunks([40], pulled), "5", 30)
