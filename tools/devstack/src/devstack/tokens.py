"""The local stack's bearer tokens between services, generated once per clone.

``make up`` writes ``.local/service-tokens.env`` (mode 0600) the first time and reuses it after,
so restarts keep working and a running ``tds`` keeps its token. Each caller gets a token of its
own, as in the chart: the processor's and bulk-sync's for zoho-proxy (bulk-sync's may write:
its write-back relay), and one for the operator's tools (``tds``, the demo, the ZohoSync
operator) accepted by the processor's and bulk-sync's APIs and by zoho-proxy. The file holds the
settings themselves (``TDS_API_TOKEN=...``), so ``tds`` run from the repository finds its token
there. Delete the file to rotate them all (then ``make down && make up``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

from devstack.paths import state_dir

TOKENS_FILE: Final = "service-tokens.env"
"""In the state dir (``.local/``); ``tds`` reads it too (its settings' ``env_file``)."""


def tokens_path() -> Path:
    return state_dir() / TOKENS_FILE


def _wired(processor: str, bulk_sync: str, operator: str) -> dict[str, str]:
    """Each caller's token where it sends it, and in the lists of the services it calls."""
    return {
        "ZOHO_PROXY_CLIENT_TOKENS": f"{processor},{operator}",
        "ZOHO_PROXY_WRITER_TOKENS": bulk_sync,
        "PROCESSOR_PROXY__TOKEN": processor,
        "BULK_SYNC_PROXY__TOKEN": bulk_sync,
        "PROCESSOR_API_TOKENS": operator,
        "BULK_SYNC_API_TOKENS": operator,
        "BULK_SYNC_API_TOKEN": operator,
        "TDS_API_TOKEN": operator,
    }


def service_token_env() -> dict[str, str]:
    """Every service's token settings for the local stack (generated on first use)."""
    path = tokens_path()
    if path.exists():
        return {k: v for k, v in dotenv_values(path).items() if v}
    env = _wired(*(secrets.token_urlsafe(32) for _ in range(3)))
    # Created private: the tokens open every service's API.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{name}={value}\n" for name, value in env.items())
    return env
