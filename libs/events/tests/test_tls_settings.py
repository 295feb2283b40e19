"""The broker's and the database's client TLS, built from the `MEND_*_TLS` settings, verifies
for real: a TLS server on 127.0.0.1 with a certificate from a throwaway CA is accepted under its
own name, and refused under another name or when its certificate comes from another CA."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from mend_events.app.config import MendSettings, SettingsError
from mend_events.app.db import tls_options
from mend_events.app.settings import KafkaAuth, faststream_security, kafka_options
from mend_events.app.tls import database_context, kafka_context
from mend_testkit.tls import make_ca, make_leaf


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ours = make_ca(tmp_path, "ca")
    theirs = make_ca(tmp_path, "other-ca")
    make_leaf(tmp_path, "server", ours, ("localhost",))
    make_leaf(tmp_path, "stranger", theirs, ("localhost",))
    make_leaf(tmp_path, "client", ours, ("consent",))
    return tmp_path


async def handshake(client: ssl.SSLContext, pki: Path, leaf: str, host: str) -> None:
    """A TLS handshake with a server on 127.0.0.1 presenting `leaf`, as `host`."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(pki / f"{leaf}.crt", pki / f"{leaf}.key")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server)
    port = listening.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname=host
        )
        assert await reader.read(2) == b"ok"
        writer.close()
    finally:
        listening.close()


async def test_the_broker_context_verifies_chain_and_host_name(pki):
    config = MendSettings.load(
        {"MEND_KAFKA_TLS": "true", "MEND_KAFKA_CA_FILE": str(pki / "ca.pem")}
    )
    context = kafka_context(config)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    await handshake(context, pki, "server", "localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(context, pki, "server", "kafka.elsewhere.example")
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(context, pki, "stranger", "localhost")


async def test_the_database_context_is_verify_full(pki):
    config = MendSettings.load(
        {
            "MEND_DATABASE_TLS": "1",
            "MEND_DATABASE_CA_FILE": str(pki / "ca.pem"),
            "MEND_DATABASE_CERT_FILE": str(pki / "client.crt"),
            "MEND_DATABASE_KEY_FILE": str(pki / "client.key"),
        }
    )
    context = database_context(config)
    assert context is not None
    await handshake(context, pki, "server", "localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(context, pki, "server", "postgres.elsewhere.example")


def test_off_by_default_so_the_local_platform_keeps_working():
    assert kafka_context(MendSettings.load({})) is None
    assert database_context(MendSettings.load({})) is None
    options = kafka_options("127.0.0.1:1", KafkaAuth("consent", "pw"), tls=None)
    assert options["security_protocol"] == "SASL_PLAINTEXT" and "ssl_context" not in options


def test_kafka_clients_use_sasl_ssl_with_the_context(pki, monkeypatch):
    monkeypatch.setenv("MEND_KAFKA_TLS", "true")
    monkeypatch.setenv("MEND_KAFKA_CA_FILE", str(pki / "ca.pem"))
    options = kafka_options("kafka:9093", KafkaAuth("consent", "pw"))
    assert options["security_protocol"] == "SASL_SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert kafka_options("kafka:9093", None)["security_protocol"] == "SSL"
    security = faststream_security(KafkaAuth("consent", "pw"))
    assert security.use_ssl and security.ssl_context.check_hostname


def test_the_pools_get_the_database_context(pki, monkeypatch):
    assert tls_options() == {}
    monkeypatch.setenv("MEND_DATABASE_TLS", "true")
    monkeypatch.setenv("MEND_DATABASE_CA_FILE", str(pki / "ca.pem"))
    assert tls_options()["ssl"].verify_mode == ssl.CERT_REQUIRED


def test_unusable_files_name_the_variable_not_the_path(pki):
    missing = {"MEND_KAFKA_TLS": "1", "MEND_KAFKA_CA_FILE": str(pki / "nowhere" / "secret.pem")}
    with pytest.raises(SettingsError, match="MEND_KAFKA_CA_FILE") as refused:
        kafka_context(MendSettings.load(missing))
    assert "secret.pem" not in str(refused.value)
    half = {"MEND_DATABASE_TLS": "1", "MEND_DATABASE_CERT_FILE": str(pki / "client.crt")}
    with pytest.raises(SettingsError, match="MEND_DATABASE_CERT_FILE and MEND_DATABASE_KEY"):
        database_context(MendSettings.load(half))
