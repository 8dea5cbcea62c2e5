"""What a dashboard is made of, independent of Grafana's JSON: panels and their queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NAMESPACE_MATCHER: Final = 'namespace="$namespace"'
"""Every query is scoped to the dashboard's namespace variable (one TDS release per namespace)."""


def series(metric: str, *matchers: str) -> str:
    """``metric{namespace="$namespace",<matchers>}``: a selector scoped to the namespace."""
    return f"{metric}{{{','.join((NAMESPACE_MATCHER, *matchers))}}}"


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a panel and how its series are named in the legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """A time-series panel.

    ``event_only`` is set (to the event that fills it) for a panel that stays empty on a healthy
    system, e.g. 429s Zoho itself answered: its metric has no series until the event happens.
    The end-to-end test checks that such a panel's queries are valid and return nothing after
    ordinary traffic, and that every other panel's queries return data.
    """

    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    event_only: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """One dashboard, one concern: ``<name>.json``, ConfigMap ``<release>-dashboard-<name>``."""

    name: str
    title: str
    description: str
    panels: tuple[Panel, ...]

    @property
    def uid(self) -> str:
        return f"tds-{self.name}"
