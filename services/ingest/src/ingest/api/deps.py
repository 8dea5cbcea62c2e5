"""What route handlers get injected: the process's publisher, stats and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ingest.publisher import Publisher
from ingest.settings import Settings
from ingest.stats import InboxStats


@dataclass(frozen=True)
class IngestState:
    settings: Settings
    publisher: Publisher
    stats: InboxStats


def state_of(request: Request) -> IngestState:
    """The process's state, read directly (the webhook route calls this instead of declaring
    :data:`StateDep`: FastAPI's solving of a dependency costs more than the read)."""
    state: IngestState = request.app.state.ingest
    return state


async def get_state(request: Request) -> IngestState:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop per request.
    return state_of(request)


StateDep = Annotated[IngestState, Depends(get_state)]
