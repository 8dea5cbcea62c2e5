"""Apache Kafka 4.x in KRaft combined mode, from the broker jars on Maven Central.

``fetch`` resolves ``infra/kafka/pom.xml`` with Maven once per machine and POM, into
``${XDG_CACHE_HOME:-~/.cache}/tds/kafka/<POM hash>/libs`` (outside the clone, as the Go tools are
kept: Maven's start alone took 10-20 s of every fresh clone's ``make install``), and links the
jars from there into ``.local/kafka/libs`` (a stamp with the POM's hash skips the work when
nothing changed). ``start`` formats the storage once and runs ``kafka.Kafka`` on loopback.

A broker with a :class:`ScramUser` listens with ``SASL_SSL`` only (SCRAM-SHA-512 over TLS, as
production runs): a throwaway CA signs its certificate (``openssl``), and the user is created
when the storage is formatted. Tests use it to prove our clients' security settings work.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devstack import processes
from devstack.paths import log_dir, repo_root, state_dir

NAME: Final = "kafka"
START_TIMEOUT_SECONDS: Final = 90.0
LOG4J2_CONFIG: Final = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.state.name = state.change.logger
logger.state.level = WARN
"""


SCRAM_MECHANISM: Final = "SCRAM-SHA-512"


@dataclass(frozen=True)
class ScramUser:
    """The one SCRAM user of a secured broker (it also talks to itself as this user)."""

    username: str
    password: str


@dataclass(frozen=True)
class KafkaConfig:
    port: int = int(os.environ.get("TDS_KAFKA_PORT", "9092"))
    controller_port: int = int(os.environ.get("TDS_KAFKA_CONTROLLER_PORT", "9093"))
    heap: str = os.environ.get("TDS_KAFKA_HEAP", "768m")
    name: str = NAME
    """Pid and state-folder name; a second broker (fault tests) uses another name and ports."""
    scram_user: ScramUser | None = None
    """Set: the client listener is SASL_SSL with this user, under :attr:`ca_file`'s CA."""

    @property
    def home(self) -> Path:
        return state_dir() / self.name

    @property
    def libs(self) -> Path:
        # One copy of the jars, shared by every broker of the stack.
        return state_dir() / NAME / "libs"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    @property
    def ca_file(self) -> Path:
        """The CA that signed a secured broker's certificate (clients trust it)."""
        return self.tls_dir / "ca.pem"


def pom() -> Path:
    return repo_root() / "infra" / "kafka" / "pom.xml"


def machine_jars(digest: str) -> Path:
    """The jars Maven resolved for the POM with this hash, kept outside every clone."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tds" / NAME / digest[:16] / "libs"


def _resolve(target: Path) -> None:
    """Maven copies the POM's dependencies into ``target``, which appears whole or not at all."""
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the Kafka broker jars")
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom()),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
        ],
        check=True,
    )
    try:
        partial.rename(target)
    except OSError:  # another clone resolved the same POM first
        shutil.rmtree(partial, ignore_errors=True)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # the cache is on another filesystem
        shutil.copy2(source, target)


def fetch(config: KafkaConfig) -> bool:
    """Put the broker jars in place; False when they were already there for this POM."""
    digest = hashlib.sha256(pom().read_bytes()).hexdigest()
    stamp = config.libs.parent / "libs.sha256"
    if stamp.exists() and stamp.read_text() == digest and any(config.libs.glob("kafka_*.jar")):
        return False
    jars = machine_jars(digest)
    if not any(jars.glob("kafka_*.jar")):
        jars.parent.mkdir(parents=True, exist_ok=True)
        _resolve(jars)
        if not any(jars.glob("kafka_*.jar")):
            raise RuntimeError(f"no Kafka broker jar in {jars}: remove it and fetch again")
    if config.libs.exists():
        shutil.rmtree(config.libs)
    config.libs.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(jars, config.libs, copy_function=_link_or_copy)
    stamp.write_text(digest)
    return True


def _listener_properties(config: KafkaConfig) -> list[str]:
    listener = "PLAINTEXT" if config.scram_user is None else "SASL_SSL"
    lines = [
        f"listeners={listener}://127.0.0.1:{config.port},"
        f"CONTROLLER://127.0.0.1:{config.controller_port}",
        f"advertised.listeners={listener}://127.0.0.1:{config.port}",
        "controller.listener.names=CONTROLLER",
        f"inter.broker.listener.name={listener}",
        f"listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT",
    ]
    if (user := config.scram_user) is not None:
        lines += [
            f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}",
            f"listener.name.sasl_ssl.{SCRAM_MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user.username}" password="{user.password}";',
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={config.tls_dir / 'broker.pem'}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={config.ca_file}",
        ]
    return lines


def make_certificates(config: KafkaConfig) -> None:
    """A throwaway CA and a broker certificate for 127.0.0.1 it signed (``openssl``).

    ``broker.pem`` is Kafka's PEM key store: the unencrypted PKCS#8 key, then the certificate.
    """
    tls = config.tls_dir
    if (tls / "broker.pem").exists():
        return
    tls.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, cwd=tls, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=tds-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
    )
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "broker.crt",
    )
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", "broker.key", "-out", "broker.pk8")
    key_and_chain = (tls / "broker.pk8").read_text() + (tls / "broker.crt").read_text()
    (tls / "broker.pem").write_text(key_and_chain)


def _server_properties(config: KafkaConfig) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{config.controller_port}",
            *_listener_properties(config),
            f"log.dirs={config.data}",
            "num.partitions=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=24",
            "",
        ]
    )


def cluster_id() -> str:
    """A random KRaft cluster id, the way Kafka's own ``Uuid.randomUuid`` makes one.

    Base64 can start with ``-``, which the storage tool's argument parser reads as an option
    (one format in 64 failed that way); Kafka itself redraws such ids, and so do we.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _java(config: KafkaConfig, main: str, *args: str) -> list[str]:
    log4j = config.home / "log4j2.properties"
    return [
        "java",
        f"-Xmx{config.heap}",
        f"-Xms{config.heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{config.libs}/*",
        main,
        *args,
    ]


def start(config: KafkaConfig) -> bool:
    """Start the broker unless it runs already; False when it was already up."""
    if processes.read_pid(config.name) is not None or processes.port_open(config.port):
        return False
    fetch(config)
    config.home.mkdir(parents=True, exist_ok=True)
    properties = config.home / "server.properties"
    properties.write_text(_server_properties(config))
    (config.home / "log4j2.properties").write_text(
        LOG4J2_CONFIG.format(log=log_dir() / f"{config.name}-server.log", level="INFO")
    )
    if config.scram_user is not None:
        make_certificates(config)
    if not (config.data / "meta.properties").exists():
        scram: list[str] = []
        if (user := config.scram_user) is not None:
            credential = f"{SCRAM_MECHANISM}=[name={user.username},password={user.password}]"
            scram = ["--add-scram", credential]
        formatted = subprocess.run(
            _java(
                config,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id(),
                "-c",
                str(properties),
                "--ignore-formatted",
                *scram,
            ),
            capture_output=True,
            text=True,
        )
        if formatted.returncode != 0:
            raise RuntimeError(
                f"formatting the Kafka storage of {config.name} failed:\n"
                f"{formatted.stdout[-2000:]}{formatted.stderr[-2000:]}"
            )
    pid = processes.start_background(config.name, _java(config, "kafka.Kafka", str(properties)))
    processes.wait_for_port(config.port, timeout=START_TIMEOUT_SECONDS, name=config.name, pid=pid)
    return True


def stop(config: KafkaConfig | None = None, *, kill: bool = False) -> bool:
    """Stop the broker: SIGTERM (controlled shutdown) or, with ``kill``, SIGKILL at once."""
    import signal

    name = (config or KafkaConfig()).name
    return processes.stop(name, grace=30.0, sig=signal.SIGKILL if kill else signal.SIGTERM)
