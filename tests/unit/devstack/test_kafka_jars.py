"""The broker jars are resolved by Maven once per machine and POM; a new clone links them.

A stand-in ``mvn`` on PATH records each call and writes two jars where it is told to; each test
gets its own machine cache (``XDG_CACHE_HOME``) and clones (``TDS_STATE_DIR``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from devstack import kafka

FAKE_MVN = """\
import os, sys
from pathlib import Path

with open(os.environ["FAKE_MVN_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
out = Path(next(a for a in sys.argv if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
for jar in ("kafka_2.13-4.1.1.jar", "kafka-clients-4.1.1.jar"):
    (out / jar).write_bytes(b"jar")
"""


@pytest.fixture(name="maven_calls")
def fixture_maven_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in mvn's log: one line per call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(f"#!{sys.executable}\n{FAKE_MVN}")
    mvn.chmod(0o755)
    log = tmp_path / "mvn.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MVN_LOG", str(log))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-cache"))
    return log


def _fetch_in_clone(clone: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TDS_STATE_DIR", str(clone / ".local"))
    config = kafka.KafkaConfig()
    assert kafka.fetch(config)
    return config.libs


def test_a_second_clone_links_the_jars_maven_resolved_for_the_first(
    maven_calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _fetch_in_clone(tmp_path / "first", monkeypatch)
    second = _fetch_in_clone(tmp_path / "second", monkeypatch)

    assert len(maven_calls.read_text().splitlines()) == 1
    jars = sorted(path.name for path in second.iterdir())
    assert jars == ["kafka-clients-4.1.1.jar", "kafka_2.13-4.1.1.jar"]
    for jar in jars:  # hard links into the machine's cache, not copies
        assert (second / jar).stat().st_ino == (first / jar).stat().st_ino


def test_a_clone_with_its_jars_in_place_fetches_nothing(
    maven_calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fetch_in_clone(tmp_path / "clone", monkeypatch)
    assert not kafka.fetch(kafka.KafkaConfig())
    assert len(maven_calls.read_text().splitlines()) == 1


def test_another_pom_is_resolved_again(
    maven_calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fetch_in_clone(tmp_path / "first", monkeypatch)
    other_root = tmp_path / "other-checkout"
    (other_root / "infra" / "kafka").mkdir(parents=True)
    shutil.copy(kafka.pom(), other_root / "infra" / "kafka" / "pom.xml")
    with (other_root / "infra" / "kafka" / "pom.xml").open("a") as pom:
        pom.write("<!-- another Kafka version -->\n")
    monkeypatch.setenv("TDS_REPO_ROOT", str(other_root))

    _fetch_in_clone(tmp_path / "second", monkeypatch)

    assert len(maven_calls.read_text().splitlines()) == 2
