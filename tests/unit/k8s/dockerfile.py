"""A small Dockerfile reader for the tests: global ARGs and stages with their instructions.

Enough for our one Dockerfile (no heredocs, no parser directives beyond the syntax line): lines
continued with a backslash are joined, comments dropped, instructions kept in order per stage.
Given build args, it expands ``$NAME``/``${NAME}`` as an image build would: ARGs declared in the
stage and ENVs of the stage and the stages it builds on, in every instruction but CMD and
ENTRYPOINT (Docker leaves exec-form commands alone; for RUN the shell sees the same values). An
ARG a stage forgot to declare stays unexpanded, so the checks on it fail.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
import yaml

from tests.unit.k8s.chartcheck import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
NOT_EXPANDED = {"CMD", "ENTRYPOINT"}


@dataclass
class Stage:
    """One ``FROM ... AS name`` stage."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """The environment its instructions and container see (ENVs, also inherited ones)."""

    def all(self, keyword: str) -> list[str]:
        """Arguments of every instruction with this keyword, in order."""
        return [args for key, args in self.instructions if key == keyword]

    def command(self) -> list[str]:
        """The argv the container starts: the last CMD, through ``sh -c`` as the shell would."""
        argv: list[str] = json.loads(self.all("CMD")[-1])
        if argv[:2] != ["sh", "-c"]:
            return argv
        words = shlex.split(expand(argv[2], self.env))
        return words[1:] if words[0] == "exec" else words


def expand(text: str, variables: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced where NAME is known; others left as written."""
    return VARIABLE.sub(lambda m: variables.get(m[1] or m[2], m[0]), text)


def env_pairs(rest: str, variables: dict[str, str]) -> dict[str, str]:
    """``ENV a=1 b="two words"`` as a mapping; split first, then expanded (as Docker does)."""
    pairs = (word.split("=", 1) for word in shlex.split(rest))
    return {expand(key, variables): expand(value, variables) for key, value in pairs}


def parse(
    path: Path, build_args: dict[str, str] | None = None
) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs (before the first FROM) and the stages of a Dockerfile, built with build_args."""
    build_args = build_args or {}
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    scope: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            parent = next((stage for stage in stages if stage.name == base.strip()), None)
            stages.append(Stage(name=name.strip(), base=base.strip()))
            stages[-1].env = dict(parent.env) if parent else {}
            scope = dict(stages[-1].env)
            continue
        expanded = rest if keyword in NOT_EXPANDED else expand(rest, scope)
        if keyword == "ARG":
            key, _, default = expanded.partition("=")
            value = build_args.get(key, default)
            if stages:
                scope[key] = value
            else:
                args[key] = value
        if not stages:
            continue
        if keyword == "ENV":
            pairs = env_pairs(rest, scope)
            stages[-1].env.update(pairs)
            scope.update(pairs)
        stages[-1].instructions.append((keyword, expanded))
    return args, stages


def skaffold_build_args() -> dict[str, dict[str, str]]:
    """The build args of each image in skaffold.yaml, by PACKAGE_DIR (production build)."""
    found = {}
    with (REPO_ROOT / "skaffold.yaml").open(encoding="utf-8") as handle:
        for config in yaml.safe_load_all(handle):
            for artifact in config.get("build", {}).get("artifacts", []):
                build_args = artifact["docker"]["buildArgs"]
                found[build_args["PACKAGE_DIR"]] = build_args
    return found


def context_files(source: str) -> list[Path]:
    """The files under ``source`` (a file or directory of the repository) that a build sends.

    A real build only sees what ``.dockerignore`` lets into the context, so a COPY of an excluded
    path fails there however present the file is in the clone. Its patterns are gitignore's
    wildcards, but with Docker's precedence: the last matching pattern decides, and ``!`` may
    re-include a file under an excluded directory (git's own rule forbids that, so not
    ``GitIgnoreSpec``).
    """
    patterns = DOCKERIGNORE.read_text("utf-8").splitlines()
    ignored = pathspec.PathSpec.from_lines("gitignore", patterns)
    root = REPO_ROOT / source
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [
        path
        for path in candidates
        if not ignored.match_file(path.relative_to(REPO_ROOT).as_posix())
    ]
