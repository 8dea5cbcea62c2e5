"""The project's own tools, as `make install` puts them, never whatever the machine has on PATH."""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
UV: Final = REPO_ROOT / ".local" / "uv" / "bin" / "uv"


def project_uv() -> Path:
    """uv as `make install` installed it; a clear failure when it has not run yet."""
    if not UV.is_file():
        raise FileNotFoundError(f"{UV} is missing: run `make install` first")
    return UV
