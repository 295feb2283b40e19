"""The local platform's transport security: `make up` makes a certificate authority of its own,
the broker has a TLS listener (SASL_SSL) and PostgreSQL takes TLS, and the services it starts
verify both, chain and host name (verify-full), against that CA (issue 19)."""

from __future__ import annotations

import socket
import ssl
import struct

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from mend_events.app.settings import KafkaAuth, kafka_options
from mend_events.app.tls import client_context


@pytest.fixture
def local(platform, launcher):
    return launcher.Settings.from_env()


def _admin(launcher, local) -> KafkaAuth:
    user = launcher.KAFKA_ADMIN
    return KafkaAuth(user, local.kafka_password(user), launcher.SASL_MECHANISM)


async def _brokers(bootstrap: str, auth: KafkaAuth, tls: ssl.SSLContext) -> list[int]:
    """The ports of the brokers the cluster names to this client (after signing in)."""
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, auth, tls), request_timeout_ms=5000)
    await admin.start()
    try:
        return [broker["port"] for broker in (await admin.describe_cluster())["brokers"]]
    finally:
        await admin.close()


async def test_the_broker_speaks_tls_verified_against_the_local_ca(local, launcher):
    ca = client_context(local.tls / "ca.crt")
    # Signed in over TLS and answered; the broker names its TLS listener to a TLS client, so
    # every later connection (to the partition leaders) is TLS too.
    assert await _brokers(local.kafka_tls_bootstrap, _admin(launcher, local), ca) == [
        local.tls_port
    ]


async def test_a_client_that_does_not_trust_the_local_ca_is_refused(local, launcher):
    stranger = client_context()  # the system's trust store: it never signed the broker's key
    with pytest.raises(KafkaConnectionError):
        await _brokers(local.kafka_tls_bootstrap, _admin(launcher, local), stranger)


async def test_the_database_takes_verify_full_with_the_local_ca(local):
    conn = await asyncpg.connect(local.database_url, ssl=client_context(local.tls / "ca.crt"))
    try:
        encrypted = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    assert encrypted is True


def test_the_database_certificate_names_only_this_machine(local):
    """verify-full checks the host name: a client that asked for another host is refused at
    the handshake (PostgreSQL's SSLRequest, then TLS on the same socket)."""
    with socket.create_connection(("127.0.0.1", local.pg_port), timeout=5) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
        assert raw.recv(1) == b"S"
        context = client_context(local.tls / "ca.crt")
        with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|match"):
            context.wrap_socket(raw, server_hostname="db.elsewhere.example")


def test_the_services_make_up_starts_are_told_to_use_both(local):
    env = local.tls_env()
    assert env["MEND_KAFKA_BOOTSTRAP"] == local.kafka_tls_bootstrap
    assert env["MEND_KAFKA_TLS"] == env["MEND_DATABASE_TLS"] == "true"
    assert env["MEND_KAFKA_CA_FILE"] == env["MEND_DATABASE_CA_FILE"] == str(local.tls / "ca.crt")


async def test_tests_and_host_tools_reach_the_database_in_plain_text(local):
    """The URLs the launcher hands to tests and host tools say `sslmode=disable`: asyncpg's
    default (`prefer`) would quietly pay TLS on every test connection of a 2-core CI machine,
    while the services `make up` starts pass their own verifying context, which the URL's
    mode does not override."""
    for url in (local.database_url, local.admin_database_url):
        conn = await asyncpg.connect(url)
        try:
            encrypted = await conn.fetchval(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            )
        finally:
            await conn.close()
        assert encrypted is False
