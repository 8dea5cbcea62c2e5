"""`make audit` checks uv.lock for known vulnerabilities, and the audit cannot pass silently.

`make audit` runs for real (uv export + pip-audit over every locked dependency) against a local
stand-in for OSV's query API, so the verdicts do not depend on this machine's network.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VULNERABLE = "httpx"
ADVISORY_ID = "GHSA-test-0000-0001"


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class _Osv(BaseHTTPRequestHandler):
    """OSV's ``POST /v1/query``; ``/vulnerable`` reports one advisory for ``VULNERABLE``."""

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["content-length"])))
        name = query["package"]["name"]
        body: dict[str, Any] = {}
        if self.path == "/down":
            self.send_response(503)
            self.end_headers()
            return
        if self.path == "/vulnerable" and name == VULNERABLE:
            affected = {"package": {"name": name, "ecosystem": "PyPI"}, "ranges": []}
            body = {"vulns": [{"id": ADVISORY_ID, "summary": "test", "affected": [affected]}]}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(name="osv_url", scope="module")
def fixture_osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _audit(osv_url: str, path: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    args = f"-s osv --osv-url {osv_url}{path} --cache-dir {tmp_path}"
    return _make("audit", f"AUDIT_ARGS={args}")


def test_a_clean_lock_passes(osv_url: str, tmp_path: Path) -> None:
    result = _audit(osv_url, "/clean", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stdout + result.stderr


def test_a_known_vulnerability_fails(osv_url: str, tmp_path: Path) -> None:
    result = _audit(osv_url, "/vulnerable", tmp_path)
    assert result.returncode != 0
    assert ADVISORY_ID in result.stdout
    assert "audit FAILED" in result.stderr


def test_an_unreachable_vulnerability_service_fails_loudly(osv_url: str, tmp_path: Path) -> None:
    result = _audit(osv_url, "/down", tmp_path)
    assert result.returncode != 0
    assert "audit FAILED" in result.stderr
    assert "could not be checked" in result.stderr
