"""values.yaml is the chart's documentation: every key has a comment.

(That the schema knows every key is checked by values_cases: it validates values.yaml, and
every block of the schema is closed with additionalProperties false.)
"""

from __future__ import annotations

import re
from typing import Final

from tests.unit.k8s.values_cases import VALUES_FILE

# Keys whose whole value is documented by the comment on the key itself (Kubernetes objects
# passed through as they are): what is nested inside needs no comment of its own.
WHOLE_VALUES: Final = {
    "podSecurityContext",
    "containerSecurityContext",
    "resources",
    "labels",
    "metricsFrom",
    "kubeApiServerTo",
    "from",
    "to",
    "dns",
}
KEY_LINE: Final = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z][\w.-]*):(\s|$)")


def undocumented_keys(text: str) -> list[str]:
    """``line: key`` for every key without a comment directly above it."""
    missing = []
    ancestors: list[tuple[int, str]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while ancestors and ancestors[-1][0] >= indent:
            ancestors.pop()
        inside_whole_value = any(key in WHOLE_VALUES for _, key in ancestors)
        ancestors.append((indent, match["key"]))
        if inside_whole_value:
            continue
        if not lines[number - 1].strip().startswith("#"):
            missing.append(f"{number + 1}: {match['key']}")
    return missing


def test_every_key_in_values_yaml_has_a_comment() -> None:
    assert undocumented_keys(VALUES_FILE.read_text("utf-8")) == []


def test_the_check_finds_an_undocumented_key() -> None:
    text = "# -- documented\na: 1\nb:\n  # -- c\n  c: 2\n# -- r\nresources:\n  limits: {}\n"
    assert undocumented_keys(text) == ["3: b"]
