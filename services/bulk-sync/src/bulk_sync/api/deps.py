"""What route handlers get injected: what the lifespan opened, in one typed object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from bulk_sync.settings import Settings
from bulk_sync.worker import SyncWorker


@dataclass(frozen=True)
class BulkSyncState:
    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    """Publishes the commands of ``tds.sync.requests``."""
    worker: SyncWorker | None
    """None when ``worker_enabled`` is off (the API only)."""


def get_state(request: Request) -> BulkSyncState:
    state: BulkSyncState = request.app.state.bulk_sync
    return state


StateDep = Annotated[BulkSyncState, Depends(get_state)]


def get_pool(state: StateDep) -> asyncpg.Pool:
    return state.pool


def get_producer(state: StateDep) -> AIOKafkaProducer:
    return state.producer


def get_settings(state: StateDep) -> Settings:
    return state.settings


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
ProducerDep = Annotated[AIOKafkaProducer, Depends(get_producer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
