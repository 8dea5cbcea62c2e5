"""``python -m devstack.doc_references``: fail on a reference to a document the repository lacks.

Code, SQL, charts and READMEs cite documents ("see docs/architecture.md#kafka"). A citation of a
file that is not in the repository, or of a heading that file does not have, sends the reader
nowhere, so ``make lint`` checks every tracked text file for:

- Markdown links ``[text](target)`` in ``.md`` files (relative to the file; fenced code skipped);
- paths that end in ``.md`` and contain a folder (``docs/deploy.md``, ``services/x/README.md``),
  relative to the repository root or to the file;
- ``see NAME.md``, relative to the file or the root;
- outside ``docs/``: the old top-level design documents (the architecture file in capitals, the
  Zoho facts file anywhere but ``docs/``) and paths into a ``shared`` folder beside the clone,
  which were never part of the repository.

An ``#anchor`` after a Markdown target must match one of its headings (GitHub's slugs). A file
that contains the marker line ``doc-references: off`` (this module, and the tests that plant bad
references on purpose) is not checked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

MAX_FILE_BYTES: Final = 2_000_000
"""Larger tracked files are data, not prose."""
OFF_MARKER: Final = "doc-references: off"

_SCHEME: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_FENCE: Final = re.compile(r"^\s*(```|~~~)")
_HEADING: Final = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK: Final = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_PATH: Final = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*(?:[\w.-]+/)+[\w.-]+\.md)(?:#([\w-]+))?")
_SEE_MD: Final = re.compile(r"\bsee\s+[`'\"]?([\w.-]+\.md)\b", re.IGNORECASE)
_OLD_ARCHITECTURE: Final = re.compile(r"\bARCHITECTURE\.md\b")
_OLD_FACTS: Final = re.compile(r"(?<!docs/)\bzoho-api\.md\b")
_SHARED: Final = re.compile(r"(?:/work/|(?:\.\./)+|(?<![\w/.-]))shared[/][\w./-]*")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _prose_lines(text: str) -> Iterable[tuple[int, str]]:
    """Numbered lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown document (repeats get ``-1``, ``-2``, … as on GitHub)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in _prose_lines(markdown):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_anchor(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


class _Checker:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._anchors: dict[Path, set[str]] = {}

    def _inside(self, target: Path) -> bool:
        return target == self.root or self.root in target.parents

    def _resolve(self, source: PurePosixPath, reference: str, *, root_too: bool) -> Path | None:
        """The existing file or folder ``reference`` names, from the file's folder or the root."""
        bases = [self.root / source.parent, self.root] if root_too else [self.root / source.parent]
        for base in bases:
            target = (base / reference).resolve()
            if self._inside(target) and target.exists():
                return target
        return None

    def _anchor_problem(self, target: Path, anchor: str) -> str | None:
        if target.suffix != ".md" or not target.is_file():
            return None
        if target not in self._anchors:
            self._anchors[target] = anchors(target.read_text(encoding="utf-8"))
        if anchor in self._anchors[target]:
            return None
        return f"{target.relative_to(self.root)} has no heading #{anchor}"

    def _reference(
        self, source: PurePosixPath, reference: str, anchor: str, *, root_too: bool
    ) -> str | None:
        target = self._resolve(source, reference, root_too=root_too)
        if target is None:
            return f"{reference} is not in the repository"
        return self._anchor_problem(target, anchor) if anchor else None

    def check(self, path: str, text: str) -> list[Problem]:
        source = PurePosixPath(path)
        problems: list[Problem] = []
        markdown = source.suffix == ".md"
        in_docs = source.parts[0] == "docs"
        lines: Iterable[tuple[int, str]] = (
            _prose_lines(text) if markdown else enumerate(text.splitlines(), start=1)
        )
        for number, line in lines:
            messages: list[str | None] = []
            if markdown:
                for match in _MD_LINK.finditer(line):
                    target, _, anchor = match.group(1).partition("#")
                    if _SCHEME.match(target):
                        continue
                    if not target:  # a link within this document
                        messages.append(self._anchor_problem(self.root / source, anchor))
                        continue
                    messages.append(self._reference(source, target, anchor, root_too=False))
            for match in _MD_PATH.finditer(line):
                if markdown and f"]({match.group(1)}" in line:
                    continue  # already checked as a link, relative to the file only
                messages.append(
                    self._reference(source, match.group(1), match.group(2) or "", root_too=True)
                )
            for match in _SEE_MD.finditer(line):
                messages.append(self._reference(source, match.group(1), "", root_too=True))
            if not in_docs:
                if _OLD_ARCHITECTURE.search(line):
                    messages.append("cites a document outside the repo; use docs/architecture.md")
                if _OLD_FACTS.search(line):
                    messages.append("cites a document outside the repo; use docs/zoho-api.md")
                for match in _SHARED.finditer(line):
                    messages.append(f"{match.group(0)} is outside the repository")
            problems += [Problem(path, number, m) for m in messages if m is not None]
        return problems


def check_files(root: Path, paths: Iterable[str]) -> list[Problem]:
    """Problems in the given files (paths relative to ``root``); binary or huge files skipped."""
    checker = _Checker(root)
    problems: list[Problem] = []
    for path in paths:
        file = root / path
        if not file.is_file() or file.stat().st_size > MAX_FILE_BYTES:
            continue
        data = file.read_bytes()
        if b"\0" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if OFF_MARKER not in text:
            problems += checker.check(path, text)
    return problems


def tracked_files(root: Path) -> list[str]:
    """The files git tracks under ``root``."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], check=True, capture_output=True
    ).stdout
    return [name for name in listing.decode().split("\0") if name]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else Path.cwd()
    try:
        files = tracked_files(root)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.stderr.write(f"doc references: cannot list the files git tracks in {root}: {exc}\n")
        return 2
    problems = check_files(root, files)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        sys.stderr.write(f"doc references: {len(problems)} reference(s) lead nowhere\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
