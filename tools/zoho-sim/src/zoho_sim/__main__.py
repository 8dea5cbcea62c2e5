"""Entry point: ``python -m zoho_sim`` serves the simulator with uvicorn (one worker)."""

from __future__ import annotations

import logging

import uvicorn

from zoho_sim.app import create_app
from zoho_sim.settings import SimSettings


def main() -> None:
    settings = SimSettings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
