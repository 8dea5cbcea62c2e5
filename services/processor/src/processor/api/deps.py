"""What route handlers get injected: what the lifespan opened, in one typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from processor.consumer import EventConsumer
from processor.retention import Retention
from processor.settings import Settings


@dataclass(frozen=True)
class ProcessorState:
    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    """The DLQ's producer; the replay API republishes with it."""
    consumer: EventConsumer
    retention: Retention
    """The control tables' retention (its background loop runs only when enabled)."""


def get_state(request: Request) -> ProcessorState:
    state: ProcessorState = request.app.state.processor
    return state


StateDep = Annotated[ProcessorState, Depends(get_state)]
