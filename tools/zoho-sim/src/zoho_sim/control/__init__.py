"""The control API under ``/_sim/...``: not Zoho, a handle for tests and the demo.

``records`` mutates the dataset (and triggers webhooks), ``config`` changes faults, limits,
webhooks and the clock, ``observe`` reads counters and token state and resets everything.
"""

from __future__ import annotations

from fastapi import APIRouter

from zoho_sim.control import config, observe, records, writes

router = APIRouter(prefix="/_sim", tags=["simulator control"])
router.include_router(observe.router)
router.include_router(config.router)
router.include_router(records.router)
router.include_router(writes.router)
