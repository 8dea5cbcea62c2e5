"""The suite's scan for test secrets (tests/secret_scan.py) catches a planted leak."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.secret_scan import LeakHandler, SecretScan
from tests.unit.k8s.chartcheck import REPO_ROOT

PLANTED = "planted-secret-0123456789"


# Code that logs as a service would: compiled under a path outside tests/.
SERVICE_CODE = """
import logging

def log_like_a_service(logger, secret):
    logger.warning("nothing to see")
    logger.warning("calling with %s", secret)
    logger.warning("calling", extra={"url": f"https://x/?token={secret}"})
    try:
        raise RuntimeError(f"refused {secret}")
    except RuntimeError:
        logger.exception("failed")
"""


def _service_code() -> Callable[[logging.Logger, str], None]:
    namespace: dict[str, Any] = {}
    exec(compile(SERVICE_CODE, str(REPO_ROOT / "services" / "fake.py"), "exec"), namespace)
    function: Callable[[logging.Logger, str], None] = namespace["log_like_a_service"]
    return function


@pytest.fixture(name="scanned_logger")
def fixture_scanned_logger() -> Iterator[tuple[logging.Logger, SecretScan]]:
    scan = SecretScan()
    scan.register_secret(PLANTED)
    logger = logging.getLogger("tds.test.planted")
    logger.propagate = False
    logger.addHandler(LeakHandler(scan))
    yield logger, scan
    logger.handlers.clear()
    logger.propagate = True


def test_a_record_with_a_secret_in_its_message_extras_or_traceback_is_a_leak(
    scanned_logger: tuple[logging.Logger, SecretScan],
) -> None:
    logger, scan = scanned_logger
    _service_code()(logger, PLANTED)
    assert len(scan.leaks) == 3
    assert all("tds.test.planted" in leak for leak in scan.leaks)
    assert not any(PLANTED in leak for leak in scan.leaks)  # never the secret itself


def test_what_the_tests_own_code_logs_is_not_a_leak(
    scanned_logger: tuple[logging.Logger, SecretScan],
) -> None:
    """A test's HTTP client logs the URL it called, ?token= and all, on purpose."""
    logger, scan = scanned_logger
    logger.warning("HTTP Request: POST http://127.0.0.1/api/zoho/webhooks/items?token=%s", PLANTED)
    assert scan.leaks == []


def test_log_files_and_metrics_pages_are_scanned_at_the_end(tmp_path: Path) -> None:
    scan = SecretScan()
    scan.register_secret(PLANTED)
    clean, leaking = tmp_path / "clean.log", tmp_path / "leaking.log"
    clean.write_text("started\n")
    leaking.write_text(f"connecting to postgresql://tds:{PLANTED}@db/tds\n")
    scan.register_file(clean)
    scan.register_file(leaking)
    scan.register_page("/metrics of ingest", f'tds_ingest_info{{token="{PLANTED}"}} 1\n')
    scan.register_page("/metrics of processor", "tds_processor_up 1\n")
    assert sorted(leak.split(":")[0] for leak in scan.finish()) == [
        "/metrics of ingest",
        "log file leaking.log",
    ]


def test_short_values_are_refused_as_secrets() -> None:
    with pytest.raises(ValueError, match="match by chance"):
        SecretScan().register_secret("pw")


def test_a_session_that_logs_a_secret_fails(tmp_path: Path) -> None:
    """The hooks themselves: a passing test that leaks makes the whole run fail."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_leaky.py").write_text(
        "import logging\n"
        "from tests.secret_scan import SCAN\n"
        f"SECRET = SCAN.register_secret({PLANTED!r})\n"
        "def test_passes_but_leaks():\n"
        "    logging.getLogger('tds.leaky').warning('using %s', SECRET)\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.secret_scan",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed" in run.stdout
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "test secrets leaked into logs or metrics" in run.stdout
    assert "tds.leaky" in run.stdout and PLANTED not in run.stdout
