"""Which of two versions of one record the mirror keeps: the monotonic rule, pure.

:mod:`tds_common.mirror.sql` states the same rule in SQL for parent rows (so concurrent writers
are ordered by row locks); this module is its Python form, used to reduce a batch (several
versions of one record) and for stock, whose rows are decided per item under an advisory lock.

A version is a record's ``last_modified_time``. Zoho stamps it to the second, so two edits in one
second share a version and the version alone cannot say which content is current. What can:

- a newer version wins; an older one loses; a change without a version never overwrites a
  versioned row (it only fills an empty one), except a *read* that found the record gone;
- at the same version, a **read** of Zoho's current state (list, detail, not-found) wins when it
  was made no earlier than the stored content was seen: that is what Zoho holds now, and how a
  row deleted by mistake comes back;
- a pushed delete (webhook) at the same version is final: a deletion is Zoho's last word;
- pushed content (a webhook) at the same version fills gaps when it agrees with the stored
  content on every key both carry (a narrower or wider view of one content: a list summary
  never erases line items); when they disagree it is a **conflict**: neither is trusted, the
  caller re-reads the record and writes what Zoho holds now. An identical redelivery agrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tds_common.mirror.canonical import canonical_json

Verdict = Literal["win", "lose", "conflict"]


@dataclass(frozen=True)
class Version:
    """One version of a record as the rule sees it: stored, or about to be written."""

    modified: datetime | None
    deleted: bool
    observed_at: datetime | None
    read: bool
    content: Mapping[str, Any]
    """The record (for stock: each warehouse's entry by warehouse id)."""


def same_content(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Whether two views of a record agree on every key both carry (SQL: ``jsonb_each``)."""
    return all(
        canonical_json(new[key]) == canonical_json(old[key]) for key in new.keys() & old.keys()
    )


def content_digest(record: Mapping[str, Any]) -> str:
    """A short fingerprint of a record's content: two deliveries of one content share it, two
    contents of one version (two edits in one second) do not."""
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()[:16]


def newer_read(new: Version, old: Version) -> bool:
    """A read of Zoho made no earlier than the other version was seen."""
    return (
        new.read
        and new.observed_at is not None
        and (old.observed_at is None or new.observed_at >= old.observed_at)
    )


def verdict(new: Version, old: Version) -> Verdict:
    """Whether ``new`` replaces ``old`` (see the module docstring)."""
    if old.modified is None:
        return "win"
    if new.deleted and new.read:  # not found in Zoho: final unless seen alive later
        no_older = new.modified is None or new.modified >= old.modified
        return "win" if no_older and newer_read(new, old) else "lose"
    if new.modified is None:
        return "lose"
    if new.deleted:
        return "win" if new.modified >= old.modified else "lose"
    if new.modified != old.modified:
        return "win" if new.modified > old.modified else "lose"
    if newer_read(new, old):
        return "win"
    if old.deleted:
        return "lose"
    return "win" if same_content(new.content, old.content) else "conflict"
