"""Reminders through an SMTP server that requires STARTTLS (MEND_SMTP_STARTTLS): the hub
verifies the server's certificate chain and name before sending a recipient's address, and
never falls back to plain text. A real SMTP server (aiosmtpd) with a certificate made by the
project's own development CA script."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from mend_events.app.tls import client_context
from mend_hub.notify.channels import BODY, SUBJECT, SmtpChannel

ROOT = Path(__file__).resolve().parents[3]


class Inbox:
    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients += envelope.rcpt_tos
        return "250 OK"


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("smtp-certs")
    subprocess.run(["bash", str(ROOT / "deploy/compose/make-certs.sh"), str(folder)],
                   check=True, capture_output=True)  # fmt: skip
    return folder


def _server(certs: Path, *, require: bool) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The certificate made for "postgres" names 127.0.0.1 too: any server of this machine.
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certs / "postgres.crt", certs / "postgres.key")
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port,
        tls_context=server_tls if require else None, require_starttls=require,
    )  # fmt: skip
    controller.start()
    return controller, inbox


async def test_a_reminder_goes_only_after_starttls_with_the_server_verified(certs) -> None:
    controller, inbox = _server(certs, require=True)
    try:
        channel = SmtpChannel("127.0.0.1", controller.port, tls=client_context(certs / "ca.crt"))
        await channel.send("alice@example.org", SUBJECT, BODY)
        assert inbox.recipients == ["alice@example.org"]
    finally:
        controller.stop()


async def test_a_server_it_cannot_verify_gets_nothing(certs) -> None:
    controller, inbox = _server(certs, require=True)
    try:
        stranger = client_context()  # the system's trust store never signed this server's key
        channel = SmtpChannel("127.0.0.1", controller.port, tls=stranger)
        with pytest.raises(ssl.SSLCertVerificationError):
            await channel.send("alice@example.org", SUBJECT, BODY)
        assert inbox.recipients == []
    finally:
        controller.stop()


async def test_a_server_offering_no_starttls_gets_nothing(certs) -> None:
    """No fall-back to plain text when the server does not offer TLS."""
    controller, inbox = _server(certs, require=False)
    try:
        channel = SmtpChannel("127.0.0.1", controller.port, tls=client_context(certs / "ca.crt"))
        with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
            await channel.send("alice@example.org", SUBJECT, BODY)
        assert inbox.recipients == []
    finally:
        controller.stop()
