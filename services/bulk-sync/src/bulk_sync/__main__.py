"""Entry point: ``python -m bulk_sync``."""

from __future__ import annotations

from bulk_sync.app import create_app
from bulk_sync.settings import Settings
from tds_common.server import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings, component="bulk-sync")


if __name__ == "__main__":
    main()
