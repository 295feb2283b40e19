"""The `MEND_*` settings every service, tool and test reads (printed by `make status`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

SERVICES = ("consent", "risk", "sessions", "aftercare")
# The auditors' read-only API (mend_audit) runs beside the four services on 8105.
DEFAULT_PORTS = {"consent": 8101, "risk": 8102, "sessions": 8103, "aftercare": 8104, "audit": 8105}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str
    admin_database_url: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            kafka_bootstrap=os.environ.get("MEND_KAFKA_BOOTSTRAP", "127.0.0.1:29092"),
            database_url=os.environ.get(
                "MEND_DATABASE_URL", "postgresql://mend_app:mend_app@127.0.0.1:25432/mend"
            ),
            admin_database_url=os.environ.get(
                "MEND_ADMIN_DATABASE_URL",
                "postgresql://mend_admin:mend_admin@127.0.0.1:25432/mend",
            ),
        )


def service_url(name: str) -> str:
    return os.environ.get(f"MEND_{name.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[name]}")


def events_topic(service: str, prefix: str = "") -> str:
    return f"{prefix}{service}.events.v1"


def dlq_topic(service: str, prefix: str = "") -> str:
    return f"{prefix}{service}.dlq"


def json_object(
    raw: str, variable: str, shape: str, error: type[Exception] = ValueError
) -> dict[str, Any]:
    """The JSON object a `variable` (e.g. `MEND_AGENCY_KEYS`) holds, `shape` saying what it maps
    (e.g. `{agency: PEM}`); anything else is `error`, naming the variable and never its value."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"{variable} is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise error(f"{variable} must be a JSON object {shape}")
    return parsed
