"""Which Kubernetes Events the ZohoSync operator posts, as pure functions of its status.

Events say what changed: a sync started, succeeded, failed or was cancelled, or the resource
cannot be served (``kubectl describe zohosync`` shows them). Each follows a transition of
``status`` (the phase, or the ``Ready`` condition's reason and message), never a timer tick, so a
resource in a steady state posts nothing and an operator restart posts nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

IN_PROGRESS = ("Pending", "Running")


@dataclass(frozen=True)
class Notice:
    """One Kubernetes Event for the resource."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def after_refresh(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Notice]:
    """The sync ended: ``before`` and ``after`` are the status around a refresh from its runs."""
    if before.get("phase") not in IN_PROGRESS or after.get("phase") == before.get("phase"):
        return []
    message = str(after.get("message", ""))
    if after.get("phase") == "Succeeded":
        return [Notice("Normal", "SyncSucceeded", message)]
    if after.get("phase") == "Failed":
        return [Notice("Warning", "SyncFailed", message)]
    return []


def started(reason: str, run_ids: Sequence[str]) -> Notice:
    return Notice("Normal", "SyncStarted", f"{reason}: runs {', '.join(run_ids) or 'none'}")


def cancelled(why: str, run_ids: Sequence[str]) -> Notice:
    return Notice("Normal", "SyncCancelled", f"{why}: cancelled runs {', '.join(run_ids)}")


def refused(before: Mapping[str, Any], reason: str, message: str) -> list[Notice]:
    """The resource cannot be served (e.g. a schedule cron cannot read); once per new problem."""
    conditions = before.get("conditions") or ()
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    if ready.get("reason") == reason and ready.get("message") == message:
        return []
    return [Notice("Warning", reason, message)]
