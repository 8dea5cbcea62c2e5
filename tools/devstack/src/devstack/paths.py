"""Where the local stack keeps its state: ``<repo>/.local`` (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root: ``TDS_REPO_ROOT`` or the first parent holding ``uv.lock``."""
    if env := os.environ.get("TDS_REPO_ROOT"):
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "uv.lock").exists() and (parent / "services").is_dir():
            return parent
    return Path.cwd().resolve()


def state_dir() -> Path:
    """``.local/`` under the repository, or ``TDS_STATE_DIR``."""
    path = Path(os.environ.get("TDS_STATE_DIR", repo_root() / ".local"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = state_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
