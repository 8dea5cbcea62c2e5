"""tests.utils.processes: a server that ignores SIGTERM still ends, so no session hangs on it."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.utils.processes import stop_process

STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    stop_process(process, grace_seconds=0.5)
    assert process.returncode == -signal.SIGKILL


def test_a_process_that_stops_on_sigterm_is_not_killed() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(process, grace_seconds=10)
    assert process.returncode == -signal.SIGTERM
