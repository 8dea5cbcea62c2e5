"""Calls per endpoint and status, keyed by path template so ids do not explode the keys."""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

_ID_SEGMENT: Final = re.compile(r"/\d{5,}(?=/|$)")


def path_template(path: str) -> str:
    """``/books/v3/items/460111000000000001`` → ``/books/v3/items/{id}``."""
    return _ID_SEGMENT.sub("/{id}", path)


class CallCounters:
    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str, int]] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        self.calls[(method, path_template(path), status)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{"GET /books/v3/items": {"200": 3, "429": 1}}``."""
        out: dict[str, dict[str, int]] = {}
        for (method, path, status), n in sorted(self.calls.items()):
            out.setdefault(f"{method} {path}", {})[str(status)] = n
        return out
