"""The bearer tokens the suite's services accept and send (one per caller, as in production).

Random per session, so a scan of logs and metrics can look for them (they must never appear).
"""

from __future__ import annotations

import secrets
from typing import Final

from tests.secret_scan import SCAN


def _token(name: str) -> str:
    # Registered: the suite's scan of logs and metrics fails the run if one shows up there.
    return SCAN.register_secret(f"test-{name}-{secrets.token_urlsafe(16)}")


PROXY_READER_TOKEN: Final = _token("proxy-reader")
"""What the processor and the tests' own clients send to zoho-proxy (reads only)."""
PROXY_WRITER_TOKEN: Final = _token("proxy-writer")
"""What bulk-sync sends to zoho-proxy: its write-back relay writes through the pass-through."""
API_TOKEN: Final = _token("api")
"""What the tests (as an operator, the tds command or the ZohoSync operator) send to the
processor's and bulk-sync's APIs."""
PROXY_AUTH: Final = {"Authorization": f"Bearer {PROXY_READER_TOKEN}"}
API_AUTH: Final = {"Authorization": f"Bearer {API_TOKEN}"}
