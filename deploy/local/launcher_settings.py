"""The launcher's own `MEND_*` variables, documented as a pydantic-settings class so that the
README's configuration table (`python -m tools.config_table`) covers them with every process's.
`launcher.py` reads the same names (its `Settings.from_env` and `service_port`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from mend_events.app.config import DEFAULT_PORTS
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The launcher's ports (launcher.SERVICE_PORTS): the platform's defaults, one table.
PORTS = DEFAULT_PORTS


def _port(name: str) -> Any:
    return Field(PORTS[name], description=f"the port the launcher starts the {name} process on")


class LauncherSettings(BaseSettings):
    """`deploy/local/launcher.py` (`make up`, `make status`, `make down`)."""

    PROCESS: ClassVar[str] = "launcher"
    model_config = SettingsConfigDict(env_prefix="MEND_", extra="ignore", env_ignore_empty=True)

    home: Path | None = Field(
        None,
        description="the launcher's state (default `.mend` in the checkout); the demo accounts "
        "file is `$MEND_HOME/demo-accounts.txt`",
    )
    pg_port: int = Field(
        25432,
        description="PostgreSQL's port (below Linux's ephemeral range); a running cluster keeps "
        "the port it was started on",
    )
    kafka_port: int = Field(29092, description="the Kafka broker's client listener")
    kafka_controller_port: int = Field(29093, description="the KRaft controller's listener")
    kafka_tls_port: int = Field(
        29094,
        description="the broker's TLS listener (SASL_SSL, the local CA's certificate), which "
        "the services `make up` starts use; the plaintext one stays for the tests and tools",
    )
    consent_port: int = _port("consent")
    risk_port: int = _port("risk")
    sessions_port: int = _port("sessions")
    aftercare_port: int = _port("aftercare")
    audit_port: int = _port("audit")
    hub_port: int = _port("hub")
    web_port: int = _port("web")
    disclosure_port: int = _port("disclosure")
    circles_port: int = _port("circles")
