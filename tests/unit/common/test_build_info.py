"""``<prefix>_build_info`` names the commit the image was built from (TDS_GIT_SHA)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tds_common import __version__
from tds_common.metrics import create_build_info


def _build_info(prefix: str, git_sha: str) -> float | None:
    return REGISTRY.get_sample_value(
        f"{prefix}_build_info", {"version": __version__, "git_sha": git_sha}
    )


def test_build_info_carries_the_commit_the_image_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_GIT_SHA", "f2bb9041c0ffee")
    create_build_info("tds_unittest_build_sha")
    assert _build_info("tds_unittest_build_sha", "f2bb9041c0ffee") == 1.0


def test_build_info_says_unknown_outside_an_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TDS_GIT_SHA", raising=False)
    create_build_info("tds_unittest_build_nosha")
    assert _build_info("tds_unittest_build_nosha", "unknown") == 1.0
