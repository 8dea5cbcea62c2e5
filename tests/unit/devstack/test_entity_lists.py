"""Entity lists outside Python (CRD enum in both copies, values schema, monitoring SQL) are the
catalogue's."""

from __future__ import annotations

import json

import pytest

from devstack.entity_lists import differences, render_crd, render_freshness, render_values_schema
from devstack.paths import repo_root
from tds_common.catalogue import ENTITIES

CRD = """\
              properties:
                entities:
                  type: array
                  minItems: 1
                  maxItems: 2
                  items:
                    type: string
                    enum: [a, b]
                mode:
                  enum: [full, incremental]
"""


def test_the_committed_files_match_the_catalogue() -> None:
    assert differences(repo_root()) == []


def test_only_the_entities_enum_and_bound_change() -> None:
    rendered = render_crd(CRD, ["a", "b", "c"])
    assert rendered == CRD.replace("maxItems: 2", "maxItems: 3").replace("[a, b]", "[a, b, c]")


def test_a_crd_without_the_entities_property_is_refused() -> None:
    with pytest.raises(ValueError, match="found 0"):
        render_crd(CRD.replace("entities:", "things:"), ["a"])


def test_the_values_schema_keeps_everything_but_the_enum() -> None:
    entities = {"items": {"enum": ["a"]}}
    sync = {"properties": {"defaultSync": {"properties": {"entities": entities}}}}
    text = json.dumps({"kafka": {"enum": ["x"]}, "properties": {"operator": sync}}, indent=2)
    text = text.replace('[\n    "x"\n  ]', '["x"]')  # a layout of the file's own, kept
    rendered = render_values_schema(text, ["a", "b"])
    assert (
        json.loads(rendered)["properties"]["operator"]
        == json.loads(text.replace('"a"', '"a", "b"'))["properties"]["operator"]
    )
    assert rendered.replace('"a",\n' + " " * 18 + '"b"', '"a"') == text  # nothing else moved


def test_the_freshness_query_reads_every_versioned_entity_and_keeps_its_header() -> None:
    sql = "-- name: other\nSELECT 1;\n\n-- name: mirror_freshness\n-- Fresh.\nSELECT 'x' FROM t;\n"
    entities = {name: ENTITIES[name] for name in ("products", "warehouses", "credit-notes")}
    assert render_freshness(sql, entities) == (
        "-- name: other\nSELECT 1;\n\n-- name: mirror_freshness\n-- Fresh.\n"
        "SELECT 'products' AS entity, MAX(synced_at) AS last_synced, "
        "MAX(zoho_last_modified_time) AS newest_change FROM zoho.products\n"
        "UNION ALL SELECT 'credit-notes', MAX(synced_at), MAX(zoho_last_modified_time) "
        "FROM zoho.credit_notes;\n"
    )
