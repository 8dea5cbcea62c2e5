"""A small Dockerfile reader for the tests: global ARGs and stages with their instructions.

Enough for our Dockerfiles (no heredocs, no parser directives beyond the syntax line): lines
continued with a backslash are joined, comments dropped, instructions kept in order per stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    """One ``FROM ... AS name`` stage."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Arguments of every instruction with this keyword, in order."""
        return [args for key, args in self.instructions if key == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs (before the first FROM) and the stages of a Dockerfile."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(name=name.strip(), base=base.strip()))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
        elif keyword == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
    return args, stages
