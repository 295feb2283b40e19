"""Where reminders and notices go: a `Channel` per kind of delivery, chosen by the deliverer.
Email goes to a real SMTP server (MEND_SMTP_HOST); a staff notice is read in the app (its
outbox row, settled as sent, is the notice). What is sent is one neutral text that names
nothing of the case: whoever else reads the person's e-mail learns nothing (R8)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from mend_events.app.tls import client_context

from mend_hub.settings import HubSettings

SUBJECT = "A reminder you asked for"
BODY = (
    "You asked to be reminded when something is planned for you. "
    "Sign in to your account to see it.\n\n"
    "To stop these reminders, sign in and choose 'Stop all reminders'."
)


class Channel(Protocol):
    async def send(self, address: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int = 25
    sender: str = "no-reply@mend.invalid"
    # STARTTLS with this verifying context before anything is sent (None: plain SMTP, for a
    # relay on the same host or inside the cluster's network policies).
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_env(cls) -> SmtpChannel | None:
        config = HubSettings.load()
        if not config.smtp_host:
            return None
        tls = None
        if config.smtp_starttls:
            tls = client_context(config.smtp_ca_file, prefix="MEND_SMTP_")
        return cls(config.smtp_host, config.smtp_port, config.notify_from, tls)

    async def send(self, address: str, subject: str, body: str) -> None:
        await asyncio.to_thread(self._send, address, subject, body)

    def _send(self, address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, address, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.tls is not None:
                # Raises when the server offers no STARTTLS: never falls back to plain text.
                smtp.starttls(context=self.tls)
            smtp.send_message(message)


class InApp:
    """A staff notice: shown on the practitioner's page; nothing leaves Mend."""

    async def send(self, address: str, subject: str, body: str) -> None:
        return None
