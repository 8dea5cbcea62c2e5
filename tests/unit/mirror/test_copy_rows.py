"""COPY's text format for child rows: what each value becomes (PostgreSQL parses it back)."""

from __future__ import annotations

from typing import Any

from tds_common.mirror.copy_rows import NULL, field, text_rows


def test_values_are_written_as_the_text_format_reads_them() -> None:
    assert field(None) == NULL == "\\N"
    assert field(True) == "t" and field(False) == "f"
    assert field(3) == "3" and field("12.50") == "12.50"
    # Field and row separators, and the escape character itself, are escaped.
    assert field("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    # The literal text \N is data, not NULL.
    assert field("\\N") == "\\\\N"


def test_raw_objects_are_json_with_their_escapes_escaped_again() -> None:
    assert field({"name": 'say "hi"\n'}) == '{"name":"say \\\\"hi\\\\"\\\\n"}'


def test_rows_follow_the_column_order_one_line_each() -> None:
    rows: list[dict[str, Any]] = [{"b": "x", "a": None}, {"a": 1, "b": "y"}]
    assert text_rows(rows, ["a", "b"]) == b"\\N\tx\n1\ty\n"
