"""The lint step that fails on a reference to a document the repository does not have.

doc-references: off (the fixtures below cite missing documents on purpose)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.doc_references import anchors, check_files, github_anchor, main
from tests.utils.tools import REPO_ROOT

# Built from parts so that the repository itself never names the documents it must not cite.
OLD_ARCHITECTURE = "ARCHITECTURE" + ".md"
OLD_FACTS = "zoho-api" + ".md"
OUTSIDE = "/work/" + "shared" + "/tools/check"

DOC = """# Guide

## Base URLs and organization_id

## Kafka

## Kafka

```
[not a link](missing.md)
```
"""


def problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return [str(problem) for problem in check_files(tmp_path, files)]


def test_the_repository_cites_only_documents_it_has() -> None:
    files = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z"], check=True, capture_output=True
    ).stdout.decode()
    found = check_files(REPO_ROOT, [name for name in files.split("\0") if name])
    assert [str(problem) for problem in found] == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Base URLs and organization_id", "base-urls-and-organization_id"),
        ("Webhook `op`: delete (planned!)", "webhook-op-delete-planned"),
        ("Token-endpoint errors", "token-endpoint-errors"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_repeated_headings_are_numbered_and_code_is_not_a_heading() -> None:
    assert anchors(DOC + "```\n# comment\n```\n") == {
        "guide",
        "base-urls-and-organization_id",
        "kafka",
        "kafka-1",
    }


def test_existing_targets_and_headings_pass(tmp_path: Path) -> None:
    assert (
        problems(
            tmp_path,
            {
                "docs/guide.md": DOC + "[up](#kafka-1) [site](https://example.com/x.md)\n",
                "README.md": "[guide](docs/guide.md#base-urls-and-organization_id) see README.md\n",
                "svc/a.py": '"""Topics (docs/guide.md#kafka); see services/../docs/guide.md."""\n',
                "svc/README.md": "[guide](../docs/guide.md) and docs/guide.md#kafka\n",
            },
        )
        == []
    )


def test_a_link_to_a_missing_file_fails(tmp_path: Path) -> None:
    assert problems(tmp_path, {"svc/README.md": "Read [this](docs/guide.md) first.\n"}) == [
        "svc/README.md:1: docs/guide.md is not in the repository"
    ]


def test_a_missing_heading_fails(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "docs/guide.md": DOC + "[self](#nope)\n",
            "a.py": "# docs/guide.md#kafka-2\n",
        },
    )
    assert found == [
        "docs/guide.md:12: docs/guide.md has no heading #nope",
        "a.py:1: docs/guide.md has no heading #kafka-2",
    ]


def test_paths_and_see_references_to_missing_documents_fail(tmp_path: Path) -> None:
    found = problems(tmp_path, {"a.sql": "-- Contract: docs/gone.md.\n-- see NOTES.md\n"})
    assert found == [
        "a.sql:1: docs/gone.md is not in the repository",
        "a.sql:2: NOTES.md is not in the repository",
    ]


def test_the_old_design_documents_fail_outside_docs(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "docs/zoho-api.md": "# Facts\n",
            "a.py": f"# {OLD_ARCHITECTURE} section 3\n# {OLD_FACTS} §5\n# {OUTSIDE}\n",
            "ok.py": f"# docs/{OLD_FACTS}#facts\n",
        },
    )
    assert found == [
        "a.py:1: cites a document outside the repo; use docs/architecture.md",
        "a.py:2: cites a document outside the repo; use docs/zoho-api.md",
        f"a.py:3: {OUTSIDE} is outside the repository",
    ]


def test_main_fails_on_a_planted_dangling_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "README.md").write_text("# Project\n\n[Design](docs/design.md)\n")
    (tmp_path / "untracked.md").write_text("[nowhere](nowhere.md)\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "README.md"], check=True)

    assert main([str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "README.md:3: docs/design.md is not in the repository",
        "doc references: 1 reference(s) lead nowhere",
    ]

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("# Design\n")
    assert main([str(tmp_path)]) == 0


def test_a_file_can_opt_out_with_the_marker(tmp_path: Path) -> None:
    assert problems(tmp_path, {"a.py": "# doc-references" + ": off\n# docs/gone.md\n"}) == []


def test_main_says_why_when_it_cannot_list_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "not-a-repo")]) == 2
    assert "cannot list the files git tracks" in capsys.readouterr().err
