"""Entry point: ``python -m zoho_proxy``."""

from __future__ import annotations

from tds_common.server import serve
from zoho_proxy.app import create_app
from zoho_proxy.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings, component="zoho-proxy")


if __name__ == "__main__":
    main()
