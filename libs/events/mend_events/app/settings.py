"""The `MEND_*` settings every service, tool and test reads (printed by `make status`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICES = ("consent", "risk", "sessions", "aftercare", "hub")
# The auditors' read-only API (mend_audit) runs beside the services on 8105, the hub on 8106.
DEFAULT_PORTS = {
    "consent": 8101,
    "risk": 8102,
    "sessions": 8103,
    "aftercare": 8104,
    "audit": 8105,
    "hub": 8106,
    "web": 8107,
}


# Which services' events topics each service consumes (its subscriptions, checked against the
# apps by a test): the read ACLs follow from it.
# Every service consumes the hub's agency, staff and allocation events (its trust model).
CONSUMES: dict[str, tuple[str, ...]] = {
    "consent": ("sessions", "hub"),  # the case directory: CaseOpened, ParticipantEnrolled
    "risk": ("consent", "sessions", "aftercare", "hub"),
    "sessions": ("consent", "risk", "hub"),
    "aftercare": ("consent", "sessions", "hub"),
    # the case directory (a case's agency and members); erasures (the people directory's keys)
    # reminders and notices (mend_hub.notify): halts, withdrawals, severe flags, reassessments
    "hub": ("consent", "sessions", "risk"),
}

# Topics every service may read whether or not it subscribes yet: the hub's agencies, keys,
# staff and allocations are every service's trust facts (the ACLs allow it ahead of the
# subscriptions that consume them).
READ_BY_ALL: tuple[str, ...] = ("hub",)

# Read-only principals and the events topics each reads: the web app's case index (mend_web.index)
# reads the five services' topics with consumer groups `<prefix>web.`, and writes nothing.
READERS: dict[str, tuple[str, ...]] = {"web": SERVICES}

# Kafka principals: one per service (it alone may write its topics), `audit` for verification
# reads, the read-only ones, and an administrator for topic and ACL set-up (launcher, migration
# job, tests).
KAFKA_PRINCIPALS = (*SERVICES, "audit", *READERS)
KAFKA_ADMIN = "mend-admin"
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaAuth:
    """Who a Kafka client authenticates as (SASL/SCRAM over the client listener)."""

    user: str
    password: str
    mechanism: str = DEFAULT_SASL_MECHANISM

    def __repr__(self) -> str:  # never print the password
        return f"KafkaAuth(user={self.user!r}, mechanism={self.mechanism!r})"

    @classmethod
    def from_env(cls) -> KafkaAuth | None:
        """`MEND_KAFKA_USER` / `MEND_KAFKA_PASSWORD` or `MEND_KAFKA_PASSWORD_FILE` (and
        `MEND_KAFKA_SASL_MECHANISM`): each
        process gets its own principal; none set means an unauthenticated (PLAINTEXT) broker."""
        user = os.environ.get("MEND_KAFKA_USER")
        path = os.environ.get("MEND_KAFKA_PASSWORD_FILE")
        if not user:
            # Like the database URLs' defaults, the default is the local platform's: the
            # launcher's administrator, when this checkout's launcher has created one.
            checkout = Path(__file__).resolve().parents[4]
            home = Path(os.environ.get("MEND_HOME") or checkout / ".mend")
            local = home / "kafka" / "secrets" / KAFKA_ADMIN
            if not local.is_file():
                return None
            user, path = KAFKA_ADMIN, str(local)
        password = os.environ.get("MEND_KAFKA_PASSWORD")
        if password is None and path:  # a mounted secret: the password stays out of the env
            with open(path, encoding="utf-8") as secret:
                password = secret.read().strip()
        return cls(
            user,
            password or "",
            os.environ.get("MEND_KAFKA_SASL_MECHANISM", DEFAULT_SASL_MECHANISM),
        )


# Default of every `auth=` parameter: the process's own principal, from the environment.
FROM_ENV: Any = object()


def kafka_options(bootstrap: str, auth: KafkaAuth | None = FROM_ENV) -> dict[str, Any]:
    """aiokafka keyword arguments for a client of `bootstrap`, authenticated as `auth` (by
    default the process's own principal from the environment). Every client uses this."""
    if auth is FROM_ENV:
        auth = KafkaAuth.from_env()
    options: dict[str, Any] = {"bootstrap_servers": bootstrap}
    if auth is not None:
        options.update(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=auth.mechanism,
            sasl_plain_username=auth.user,
            sasl_plain_password=auth.password,
        )
    return options


def faststream_security(auth: KafkaAuth | None = FROM_ENV) -> Any:
    """The same principal as faststream's `security=` object (None: PLAINTEXT)."""
    from faststream.security import SASLScram256, SASLScram512

    if auth is FROM_ENV:
        auth = KafkaAuth.from_env()
    if auth is None:
        return None
    kind = SASLScram256 if auth.mechanism.upper() == "SCRAM-SHA-256" else SASLScram512
    return kind(auth.user, auth.password, use_ssl=False)


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str
    admin_database_url: str
    # The process's own Kafka principal (`MEND_KAFKA_USER`), read when not given.
    kafka_auth: KafkaAuth | None = field(default_factory=KafkaAuth.from_env)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            kafka_auth=KafkaAuth.from_env(),
            kafka_bootstrap=os.environ.get("MEND_KAFKA_BOOTSTRAP", "127.0.0.1:29092"),
            database_url=os.environ.get(
                "MEND_DATABASE_URL", "postgresql://mend_app:mend_app@127.0.0.1:25432/mend"
            ),
            admin_database_url=os.environ.get(
                "MEND_ADMIN_DATABASE_URL",
                "postgresql://mend_admin:mend_admin@127.0.0.1:25432/mend",
            ),
        )


PRODUCTION_NAMES = frozenset({"prod", "production"})


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    """`MEND_ENV=production` (or `prod`): every development fallback is refused (the dev token
    keys, the built-in dev KEK, plain-http identity providers, the demo agency)."""
    env = os.environ if environ is None else environ
    return env.get("MEND_ENV", "").strip().lower() in PRODUCTION_NAMES


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
