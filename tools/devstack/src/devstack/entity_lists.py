"""``python -m devstack.entity_lists [--check]``: the entity lists in files that are not Python.

The ``ZohoSync`` CRD (the chart's copy and ``k8s/crds/``) names every entity in the enum of
``spec.entities`` and bounds the list by their number; the chart's values schema names them for
``operator.defaultSync.entities``; docs/monitoring.sql's ``mirror_freshness`` reads each
entity's table (plain SQL cannot list tables dynamically without libxml or a function). All of
them come from ``tds_common.catalogue.ENTITIES``: this writes them, or with ``--check``
(``make lint``) fails when a committed file differs. Only those parts change; the rest of each
file is left as it is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

import typer

from devstack.paths import repo_root
from tds_common.catalogue import ENTITIES, EntitySpec

CRD_FILES: Final = (
    Path("charts/tds/files/crds/zohosyncs.tds.dev.yaml"),
    Path("k8s/crds/zohosyncs.tds.dev.yaml"),
)
VALUES_SCHEMA: Final = Path("charts/tds/values.schema.json")
MONITORING_SQL: Final = Path("docs/monitoring.sql")

# The entities property of the CRD: its maxItems and, below it, the items' enum line.
_CRD_ENTITIES: Final = re.compile(
    r"(?P<head>^(?P<indent> +)entities:\n(?:(?P=indent) .*\n)*?(?P=indent)  maxItems: )\d+"
    r"(?P<middle>\n(?:(?P=indent) .*\n)*?(?P=indent)    +enum: )\[[^\]\n]*\]",
    re.MULTILINE,
)


def render_crd(text: str, names: list[str]) -> str:
    """The CRD text with the entities' enum and maxItems set to ``names``."""
    rendered, count = _CRD_ENTITIES.subn(
        lambda m: f"{m['head']}{len(names)}{m['middle']}[{', '.join(names)}]", text
    )
    if count != 1:
        raise ValueError(f"expected one entities property with maxItems and enum, found {count}")
    return rendered


def render_values_schema(text: str, names: list[str]) -> str:
    """The values schema with ``operator.defaultSync.entities``' enum set to ``names``; only that
    array's text changes (the file's own layout stays)."""
    schema = json.loads(text)
    default_sync = schema["properties"]["operator"]["properties"]["defaultSync"]["properties"]
    current = default_sync["entities"]["items"]["enum"]
    old = json.dumps(current, indent=2)
    start = _unique_array(text, current)
    indent = text[text.rfind("\n", 0, start) + 1 :].split('"', 1)[0]
    rendered = json.dumps(names, indent=2).replace("\n", "\n" + indent)
    old_text = old.replace("\n", "\n" + indent)
    if text[start : start + len(old_text)] != old_text:
        raise ValueError("the entities enum of the values schema is not laid out as expected")
    return text[:start] + rendered + text[start + len(old_text) :]


def _unique_array(text: str, values: list[str]) -> int:
    """Where the ``"enum": [...]`` holding exactly ``values`` starts its ``[`` (once only)."""
    pattern = r'"enum": (\[\s*' + r",\s*".join(re.escape(json.dumps(v)) for v in values) + r"\s*\])"
    found = list(re.finditer(pattern, text))
    if len(found) != 1:
        raise ValueError(f"expected one entities enum in the values schema, found {len(found)}")
    return found[0].start(1)


# The freshness query: from its first SELECT to the semicolon that ends it.
_FRESHNESS: Final = re.compile(
    r"(?P<head>^-- name: mirror_freshness\n(?:--.*\n)*)SELECT [^;]*;", re.M
)


def render_freshness(text: str, entities: dict[str, EntitySpec]) -> str:
    """monitoring.sql with ``mirror_freshness`` reading every versioned entity's table."""
    tables = [(name, spec.table) for name, spec in entities.items() if spec.versioned]
    (first, table), rest = tables[0], tables[1:]
    lines = [
        f"SELECT '{first}' AS entity, MAX(synced_at) AS last_synced, "
        f"MAX(zoho_last_modified_time) AS newest_change FROM {table}",
        *(
            f"UNION ALL SELECT '{name}', MAX(synced_at), MAX(zoho_last_modified_time) FROM {table}"
            for name, table in rest
        ),
    ]
    query = "\n".join(lines) + ";"
    rendered, count = _FRESHNESS.subn(lambda m: m["head"] + query, text)
    if count != 1:
        raise ValueError(f"expected one mirror_freshness query, found {count}")
    return rendered


def rendered(root: Path) -> dict[Path, str]:
    """Every generated file's path → its content as the catalogue says."""
    names = list(ENTITIES)
    files = {
        path: render_crd((root / path).read_text(encoding="utf-8"), names) for path in CRD_FILES
    }
    schema = (root / VALUES_SCHEMA).read_text(encoding="utf-8")
    files[VALUES_SCHEMA] = render_values_schema(schema, names)
    monitoring = (root / MONITORING_SQL).read_text(encoding="utf-8")
    files[MONITORING_SQL] = render_freshness(monitoring, ENTITIES)
    return files


def differences(root: Path) -> list[Path]:
    return [
        p for p, text in rendered(root).items() if (root / p).read_text(encoding="utf-8") != text
    ]


def main(
    check: bool = typer.Option(False, help="Fail if the committed files differ; write nothing."),
) -> None:
    if check:
        stale = differences(repo_root())
        if stale:
            names = ", ".join(str(p) for p in stale)
            print(f"entity lists differ from the catalogue: {names}; run make entity-lists")
            raise typer.Exit(1)
        print("the entity lists of the chart and docs/monitoring.sql match the catalogue")
        return
    for path, text in rendered(repo_root()).items():
        (repo_root() / path).write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    typer.run(main)
