"""tests.utils.polling: wait_until (plain and async checks) and wait_ready (a server starting),
each failing with an error that names the wait."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI, Response

from tests.conftest import free_port
from tests.utils.polling import wait_ready, wait_until
from zoho_sim.testing import serve_app_in_thread


async def test_waits_for_a_plain_check() -> None:
    calls = itertools.count()
    await wait_until(lambda: next(calls) >= 2, what="the third call", interval_seconds=0)
    assert next(calls) == 3


async def test_waits_for_an_async_check() -> None:
    calls = itertools.count()

    async def check() -> bool:
        return next(calls) >= 2

    await wait_until(check, what="the third call", interval_seconds=0)
    assert next(calls) == 3


async def test_names_what_it_waited_for_when_it_gives_up() -> None:
    with pytest.raises(AssertionError, match="timed out waiting for the impossible"):
        await wait_until(lambda: False, what="the impossible", limit_seconds=0.05)


def test_wait_ready_returns_once_the_server_answers_200() -> None:
    answers = iter([503, 503, 200])
    asked = itertools.count()

    async def ready() -> Response:
        next(asked)
        return Response(status_code=next(answers, 200))

    app = FastAPI()
    app.add_api_route("/ready", ready)
    with serve_app_in_thread(app) as url:
        wait_ready(f"{url}/ready", what="the app", interval_seconds=0)
    assert next(asked) == 3  # asked until the first 200, not once more


def test_wait_ready_fails_at_once_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('port already in use'); raise SystemExit(3)"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        process.wait()
    with pytest.raises(RuntimeError, match="the server exited with 3: port already in use"):
        wait_ready(
            f"http://127.0.0.1:{free_port()}/ready", what="the server", process=process, log=log
        )


def test_wait_ready_names_what_never_became_ready() -> None:
    with pytest.raises(RuntimeError, match=r"the server not ready after 0\.05 s"):
        wait_ready(f"http://127.0.0.1:{free_port()}/ready", what="the server", limit_seconds=0.05)
