"""The whole suite's logs and metrics, scanned for the test secrets (pytest hooks).

Every secret the fixtures hand to a service (the Zoho client secret and refresh token, webhook
tokens, service tokens, Fernet keys, database and Kafka passwords) is registered here. The scan
looks at:

- every log record emitted in this process while the suite runs, formatted as the services format
  it, extras and tracebacks included (at the levels the tests' loggers are set to: the root
  logger's level is left alone, since tests assert on what they capture);
- every service log file the suite's own processes wrote (``register_file``): the end-to-end
  services log at INFO, as in production, so everything they write is scanned;
- every metrics page: this process's Prometheus registry at the end, and the pages of the
  services run as processes (``register_page``).

A secret found anywhere fails the session, naming where it was found but never the secret
itself. tests/conftest.py installs the hooks; tests/unit/test_secret_scan.py proves a planted
leak is caught.
"""

from __future__ import annotations

import logging
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Final

import pytest
from prometheus_client import REGISTRY, generate_latest

from tds_common.logging import JsonFormatter

MIN_SECRET_CHARS: Final = 8
"""Shorter values would match by chance (and no real secret is this short)."""
TESTS_DIR: Final = Path(__file__).resolve().parent
_LIBRARIES: Final = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], __file__)


def _from_test_code() -> bool:
    """Whether the record being emitted comes from the tests' own code (a test's HTTP client
    logging the URL it called, secret and all, on purpose): the first frame outside the standard
    library, installed packages and this module is in tests/."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARIES) and not filename.startswith("<"):
            return Path(filename).resolve().is_relative_to(TESTS_DIR)
        frame = frame.f_back
    return False


def _masked(secret: str) -> str:
    return f"{secret[:3]}…({len(secret)} chars)"


@dataclass
class SecretScan:
    """The secrets to look for and what has been seen so far."""

    secrets: set[str] = field(default_factory=set)
    files: set[Path] = field(default_factory=set)
    pages: list[tuple[str, str]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    def register_secret(self, value: str) -> str:
        """Look for ``value`` everywhere; returns it, so a fixture can register as it defines."""
        if len(value) < MIN_SECRET_CHARS:
            raise ValueError(f"a secret of {len(value)} chars would match by chance")
        self.secrets.add(value)
        return value

    def register_file(self, path: Path) -> None:
        """A log file of a process this session started; read at the end."""
        self.files.add(path)

    def register_page(self, where: str, text: str) -> None:
        """A metrics page (or any text a service served) to scan at the end."""
        self.pages.append((where, text))

    def found(self, text: str) -> list[str]:
        return [secret for secret in self.secrets if secret in text]

    def check(self, where: str, text: str) -> None:
        self.leaks += [f"{where}: {_masked(secret)}" for secret in self.found(text)]

    def finish(self) -> list[str]:
        """Scan the files and pages; every leak found, the records' included."""
        for path in sorted(self.files):
            if path.exists():
                self.check(f"log file {path.name}", path.read_text(errors="replace"))
        for where, text in self.pages:
            self.check(where, text)
        return self.leaks


class LeakHandler(logging.Handler):
    """Scans each record as the services would write it (JSON, extras and traceback)."""

    def __init__(self, scan: SecretScan) -> None:
        super().__init__(logging.DEBUG)
        self.scan = scan
        self.formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted: scan what it has
            text = f"{record.msg!r} {record.args!r}"
        if self.scan.found(text) and not _from_test_code():
            where = f"log record of {record.name} ({record.pathname}:{record.lineno})"
            self.scan.check(where, text)


SCAN: Final = SecretScan()
"""The session's scan: fixtures register their secrets and files here."""
_HANDLER: Final = LeakHandler(SCAN)


def _install_handler() -> None:
    # configure_logging (a service's startup, or its tests) replaces the root's handlers.
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


def pytest_sessionstart(session: pytest.Session) -> None:
    _install_handler()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    _install_handler()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    _install_handler()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    _install_handler()
    return (yield)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SCAN.register_page("this process's /metrics registry", generate_latest(REGISTRY).decode())
    if SCAN.finish():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCAN.leaks:
        terminalreporter.section("test secrets leaked into logs or metrics", red=True)
        for leak in sorted(set(SCAN.leaks)):
            terminalreporter.line(leak)
