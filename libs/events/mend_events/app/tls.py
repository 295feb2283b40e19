"""Client TLS for the broker and the database, from the `MEND_KAFKA_TLS` / `MEND_DATABASE_TLS`
settings (config.py): a context that verifies the server's chain against the configured CA (or
the system's trust store) and its host name, TLS 1.2 at least, with a client certificate when
one is configured. Off by default, so the local platform's plaintext listeners keep working."""

from __future__ import annotations

import ssl
from pathlib import Path

from mend_events.app.config import MendSettings, SettingsError


def client_context(
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    *,
    prefix: str = "MEND_",
) -> ssl.SSLContext:
    """A verifying client context (`prefix` names the variables in errors, never a value)."""
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None
        )
    except (OSError, ssl.SSLError):
        raise SettingsError(f"{prefix}CA_FILE cannot be read as PEM certificates") from None
    # create_default_context already requires a certificate and checks the host name; said
    # again so that no later edit can weaken it unnoticed (verify-full, not require).
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise SettingsError(f"{prefix}CERT_FILE and {prefix}KEY_FILE go together")
        try:
            context.load_cert_chain(str(cert_file), str(key_file))
        except (OSError, ssl.SSLError):
            raise SettingsError(
                f"{prefix}CERT_FILE / {prefix}KEY_FILE cannot be read as a certificate and its key"
            ) from None
    return context


def kafka_context(config: MendSettings | None = None) -> ssl.SSLContext | None:
    """The broker's TLS context, or None for a plaintext listener (`MEND_KAFKA_TLS` off)."""
    config = config or MendSettings.load()
    if not config.kafka_tls:
        return None
    return client_context(
        config.kafka_ca_file, config.kafka_cert_file, config.kafka_key_file, prefix="MEND_KAFKA_"
    )


def database_context(config: MendSettings | None = None) -> ssl.SSLContext | None:
    """PostgreSQL's TLS context (verify-full), or None (`MEND_DATABASE_TLS` off: the URL's
    own `sslmode`, if any, applies)."""
    config = config or MendSettings.load()
    if not config.database_tls:
        return None
    return client_context(
        config.database_ca_file,
        config.database_cert_file,
        config.database_key_file,
        prefix="MEND_DATABASE_",
    )
