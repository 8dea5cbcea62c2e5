"""Migration numbers are unique, except the three historical 0002s that cannot be renamed.

yoyo identifies a migration by its file name, so renumbering an applied file would apply it again
(services/common/src/tds_common/migrations/README.md); the guard is against a new clash instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tds_common.migrate import MIGRATIONS_DIR

HISTORICAL_CLASHES = frozenset(
    {
        "0002.zoho-proxy-inflight-in-row.sql",
        "0002.zoho-proxy-lane-priority.sql",
        "0002.zoho-proxy-state.sql",
    }
)


def clashing(names: Iterable[str]) -> list[str]:
    """Migration files sharing a number with another, beyond the historical allow-list."""
    unique = set(names)
    counts = Counter(name.split(".", 1)[0] for name in unique)
    return sorted(name for name in unique - HISTORICAL_CLASHES if counts[name.split(".", 1)[0]] > 1)


def migration_files() -> list[str]:
    return [path.name for path in Path(MIGRATIONS_DIR).iterdir() if path.suffix in {".sql", ".py"}]


def test_every_migration_file_has_a_number_of_its_own() -> None:
    assert clashing(migration_files()) == []


def test_a_new_file_reusing_a_number_is_caught() -> None:
    names = [*migration_files(), "0016.another-change.sql", "0002.reuses-the-old-number.sql"]
    assert clashing(names) == [
        "0002.reuses-the-old-number.sql",
        "0016.another-change.sql",
        "0016.mirror-orders-and-payments.sql",
    ]


def test_the_historical_clashes_are_still_there_under_their_original_names() -> None:
    """Renaming one would make yoyo apply it again; the allow-list must not outlive them."""
    assert HISTORICAL_CLASHES <= set(migration_files())


def test_every_file_is_named_number_dot_description() -> None:
    for name in migration_files():
        number, _, rest = name.partition(".")
        assert len(number) == 4 and number.isdigit() and rest, name
