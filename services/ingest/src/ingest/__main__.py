"""Entry point: ``python -m ingest``."""

from __future__ import annotations

from ingest.app import create_app
from ingest.settings import Settings
from tds_common.server import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings, component="ingest")


if __name__ == "__main__":
    main()
