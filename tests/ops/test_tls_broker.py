"""SASL_SSL against a real broker: a throwaway Kafka (the launcher's jars, the version compose
and KEDA name) with the TLS settings of docker-compose's broker (the `ssl.*` lines of
deploy/compose/kafka-start.sh, its certificate paths swapped for a throwaway CA's), and the
clients built from `MEND_KAFKA_TLS` (aiokafka through `kafka_options`, faststream through
`faststream_security`): a message goes round; a client trusting another CA gets no connection."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import KafkaBroker
from mend_events.app.config import MendSettings
from mend_events.app.settings import faststream_security, kafka_options
from mend_testkit.tls import make_ca, make_leaf

# One broker for the module (its fixture): its tests on one worker of a parallel run, not
# a broker started by each.
pytestmark = pytest.mark.xdist_group("tls-broker")

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "deploy" / "compose" / "kafka-start.sh"
PASSWORD = "tls-test-" + uuid.uuid4().hex[:8]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compose_ssl_lines(certs: Path) -> list[str]:
    """The broker's TLS settings as compose runs them, with this test's certificates."""
    lines = re.findall(r"^ssl\.\S+=\S+$", START.read_text().split("PROPS")[1], re.M)
    assert any(line.startswith("ssl.keystore.location") for line in lines)
    swapped = [line.replace("/mend/certs/ca.crt", str(certs / "ca.pem")) for line in lines]
    return [line.replace("/mend/certs/kafka.pem", str(certs / "kafka.pem")) for line in swapped]


def _java(libs: Path, logging: Path, main: str, *args: str) -> list[str]:
    return [
        "java", "-Xms128m", "-Xmx384m", f"-Dlog4j2.configurationFile={logging}",
        "-cp", f"{libs}/*", main, *args,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(bootstrap, certificates): one KRaft node whose client listener is SASL_SSL only."""
    home = MendSettings.load().home or ROOT / ".mend"
    libs = home / "kafka" / "libs"
    assert (libs / ".complete").exists(), "no Kafka jars: run `make kafka-jars`"
    base = tmp_path_factory.mktemp("tls-kafka")
    certs = base / "certs"
    certs.mkdir()
    ours = make_ca(certs, "ca")
    make_ca(certs, "other-ca")
    make_leaf(certs, "kafka", ours, ("localhost",), ips=("127.0.0.1",))
    port, controller = _free_port(), _free_port()
    # The broker's log on its standard output, where the fixture waits for "started".
    logging = base / "log4j2.properties"
    logging.write_text(
        "appender.out.type = Console\nappender.out.name = out\n"
        "appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = %p %m%n\n"
        "rootLogger.level = INFO\nrootLogger.appenderRef.out.ref = out\n"
    )
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    props = base / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=SASL_SSL",
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram} required "
                f'username="mend-admin" password="{PASSWORD}";',
                *compose_ssl_lines(certs),
                f"log.dirs={base / 'data'}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
            ]
        )
        + "\n"
    )
    cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    users = [f"SCRAM-SHA-512=[name={u},password={PASSWORD}]" for u in ("mend-admin", "consent")]
    subprocess.run(
        _java(libs, logging, "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(props),
              *(a for u in users for a in ("--add-scram", u))),
        check=True, capture_output=True,
    )  # fmt: skip
    log = (base / "kafka.out").open("wb")
    command = _java(libs, logging, "kafka.Kafka", str(props))
    broker = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while b"Kafka Server started" not in (base / "kafka.out").read_bytes():
            assert broker.poll() is None, (base / "kafka.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the TLS broker did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", certs
    finally:
        os.kill(broker.pid, signal.SIGTERM)  # the broker this fixture started
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(broker.pid, signal.SIGKILL)
            broker.wait()
        log.close()


def _principal(monkeypatch: pytest.MonkeyPatch, ca: Path) -> None:
    monkeypatch.setenv("MEND_KAFKA_USER", "consent")
    monkeypatch.setenv("MEND_KAFKA_PASSWORD", PASSWORD)
    monkeypatch.setenv("MEND_KAFKA_TLS", "true")
    monkeypatch.setenv("MEND_KAFKA_CA_FILE", str(ca))


async def test_a_message_goes_round_over_sasl_ssl(tls_broker, monkeypatch):
    bootstrap, certs = tls_broker
    _principal(monkeypatch, certs / "ca.pem")
    options = kafka_options(bootstrap)
    assert options["security_protocol"] == "SASL_SSL"
    producer = AIOKafkaProducer(**options, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("tls.check", b"over tls", key=b"case")
    finally:
        await producer.stop()
    async with KafkaBroker(bootstrap, security=faststream_security()) as broker:
        await broker.publish(b"through faststream", "tls.check", key=b"case")
    options = kafka_options(bootstrap)
    consumer = AIOKafkaConsumer(
        "tls.check", **options, group_id="consent.tls", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        got = await asyncio.wait_for(consumer.getmany(timeout_ms=10_000), 30)
        values = {m.value for batch in got.values() for m in batch}
        while len(values) < 2:
            more = await asyncio.wait_for(consumer.getmany(timeout_ms=5_000), 30)
            assert more, values
            values |= {m.value for batch in more.values() for m in batch}
        assert values == {b"over tls", b"through faststream"}
    finally:
        await consumer.stop()


async def test_a_broker_signed_by_another_ca_gets_no_connection(tls_broker, monkeypatch):
    bootstrap, certs = tls_broker
    _principal(monkeypatch, certs / "other-ca.pem")
    producer = AIOKafkaProducer(**kafka_options(bootstrap), request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
