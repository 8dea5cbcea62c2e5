"""Entry point: ``python -m processor``."""

from __future__ import annotations

from processor.app import create_app
from processor.settings import Settings
from tds_common.server import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
