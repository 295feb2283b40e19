"""What the services are and how a process connects (its `MEND_*` variables: `config.py`;
`make status` prints the live ones)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mend_events.app.config import (
    DEFAULT_PORTS as DEFAULT_PORTS,  # re-exported: where callers always found them
)
from mend_events.app.config import (
    DEFAULT_SASL_MECHANISM,
    MendSettings,
)
from mend_events.app.config import (
    PRODUCTION_NAMES as PRODUCTION_NAMES,
)
from mend_events.app.config import (
    SettingsError as SettingsError,
)
from mend_events.app.tls import kafka_context

SERVICES = ("consent", "risk", "sessions", "aftercare", "hub")
# Which services' events topics each service consumes (its subscriptions, checked against the
# apps by a test): the read ACLs follow from it.
# Every service consumes the hub's agency, staff and allocation events (its trust model).
CONSUMES: dict[str, tuple[str, ...]] = {
    "consent": ("sessions", "hub"),  # the case directory: CaseOpened, ParticipantEnrolled
    "risk": ("consent", "sessions", "aftercare", "hub"),
    "sessions": ("consent", "risk", "hub"),
    "aftercare": ("consent", "sessions", "hub"),
    # the case directory (a case's agency and members); erasures (the people directory's keys)
    # reminders and notices (mend_hub.notify): halts, withdrawals, severe flags, reassessments,
    # after-care and support check-ins (their reminders, issue 20)
    "hub": ("consent", "sessions", "risk", "aftercare"),
    # peer support circles (issue 21): circle consents and acknowledgements; the case directory
    "circles": ("consent", "sessions", "hub"),
}

# Peer support circles (services/circles, issue 21): a service like the five (its own principal,
# topics, dead letters and consumer groups), but its streams are circles, not cases, so it is
# not among SERVICES, whose topics the web app's case index, the disclosure gateway and the
# audit's case replay read as case streams. The audit principal may read its topic.
CIRCLES = "circles"

# Topics every service may read whether or not it subscribes yet: the hub's agencies, keys,
# staff and allocations are every service's trust facts (the ACLs allow it ahead of the
# subscriptions that consume them).
READ_BY_ALL: tuple[str, ...] = ("hub",)

# Read-only principals and the events topics each reads: the web app's case index (mend_web.index)
# reads the five services' topics with consumer groups `<prefix>web.`, and writes nothing.
READERS: dict[str, tuple[str, ...]] = {"web": SERVICES}

# The disclosure gateway (issue 18): reads the five services' topics, and is the only principal
# that writes the partners' share topics `<prefix>mend.share.v1.<agency>`. Each partner agency
# named in `MEND_PARTNER_AGENCIES` has its own principal `partner-<agency>`, which reads only
# its own share topic, with consumer groups `<prefix>partner-<agency>.` only.
DISCLOSURE = "disclosure"
SHARE_TOPIC_PREFIX = "mend.share.v1."


def share_topic(agency: str, prefix: str = "") -> str:
    return f"{prefix}{SHARE_TOPIC_PREFIX}{agency}"


def partner_principal(agency: str) -> str:
    return f"partner-{agency}"


def partner_agencies(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The partner agencies of this deployment (`MEND_PARTNER_AGENCIES`, comma-separated)."""
    raw = MendSettings.load(environ).partner_agencies
    return tuple(sorted({a.strip() for a in raw.split(",") if a.strip()}))


# Kafka principals: one per service, circles included (it alone may write its topics), `audit`
# for verification reads, the read-only ones, the disclosure gateway, and an administrator for
# topic and ACL set-up (launcher, migration job, tests). The partners' principals follow the
# configuration.
KAFKA_PRINCIPALS = (*SERVICES, CIRCLES, "audit", *READERS, DISCLOSURE)
KAFKA_ADMIN = "mend-admin"


@dataclass(frozen=True)
class KafkaAuth:
    """Who a Kafka client authenticates as (SASL/SCRAM over the client listener)."""

    user: str
    password: str
    mechanism: str = DEFAULT_SASL_MECHANISM

    def __repr__(self) -> str:  # never print the password
        return f"KafkaAuth(user={self.user!r}, mechanism={self.mechanism!r})"

    @classmethod
    def from_env(cls, config: MendSettings | None = None) -> KafkaAuth | None:
        """`MEND_KAFKA_USER` / `MEND_KAFKA_PASSWORD` or `MEND_KAFKA_PASSWORD_FILE` (and
        `MEND_KAFKA_SASL_MECHANISM`): each process gets its own principal; none set means the
        local launcher's administrator if there is one, else an unauthenticated broker."""
        config = config or MendSettings.load()
        user, path = config.kafka_user, config.kafka_password_file
        if not user:
            # Like the database URLs' defaults, the default is the local platform's: the
            # launcher's administrator, when this checkout's launcher has created one.
            checkout = Path(__file__).resolve().parents[4]
            home = config.home or checkout / ".mend"
            local = home / "kafka" / "secrets" / KAFKA_ADMIN
            if not local.is_file():
                return None
            user, path = KAFKA_ADMIN, local
        secret = config.kafka_password
        password = secret.get_secret_value() if secret is not None else None
        if password is None and path:  # a mounted secret: the password stays out of the env
            password = Path(path).read_text(encoding="utf-8").strip()
        return cls(user, password or "", config.kafka_sasl_mechanism)


# Default of every `auth=` parameter: the process's own principal, from the environment.
FROM_ENV: Any = object()


def kafka_options(
    bootstrap: str, auth: KafkaAuth | None = FROM_ENV, tls: ssl.SSLContext | None = FROM_ENV
) -> dict[str, Any]:
    """aiokafka keyword arguments for a client of `bootstrap`, authenticated as `auth` (by
    default the process's own principal from the environment) over TLS when `tls` is a context
    (by default `MEND_KAFKA_TLS`'s: `mend_events.app.tls`). Every client uses this."""
    if auth is FROM_ENV:
        auth = KafkaAuth.from_env()
    if tls is FROM_ENV:
        tls = kafka_context()
    options: dict[str, Any] = {"bootstrap_servers": bootstrap}
    if tls is not None:
        options.update(security_protocol="SSL", ssl_context=tls)
    if auth is not None:
        options.update(
            security_protocol="SASL_SSL" if tls is not None else "SASL_PLAINTEXT",
            sasl_mechanism=auth.mechanism,
            sasl_plain_username=auth.user,
            sasl_plain_password=auth.password,
        )
    return options


def faststream_security(
    auth: KafkaAuth | None = FROM_ENV, tls: ssl.SSLContext | None = FROM_ENV
) -> Any:
    """The same principal and TLS as faststream's `security=` object (None: PLAINTEXT)."""
    from faststream.security import BaseSecurity, SASLScram256, SASLScram512

    if auth is FROM_ENV:
        auth = KafkaAuth.from_env()
    if tls is FROM_ENV:
        tls = kafka_context()
    if auth is None:
        return None if tls is None else BaseSecurity(ssl_context=tls, use_ssl=True)
    kind = SASLScram256 if auth.mechanism.upper() == "SCRAM-SHA-256" else SASLScram512
    return kind(auth.user, auth.password, ssl_context=tls, use_ssl=tls is not None)


@dataclass(frozen=True)
class Settings:
    """What a service's runtime connects to (from `MendSettings`, or given by tests)."""

    kafka_bootstrap: str
    database_url: str
    admin_database_url: str
    # The process's own Kafka principal (`MEND_KAFKA_USER`), read when not given.
    kafka_auth: KafkaAuth | None = field(default_factory=KafkaAuth.from_env)

    @classmethod
    def from_env(cls, config: MendSettings | None = None) -> Settings:
        config = config or MendSettings.load()
        return cls(
            kafka_auth=KafkaAuth.from_env(config),
            kafka_bootstrap=config.kafka_bootstrap,
            database_url=config.database_url,
            admin_database_url=config.admin_database_url,
        )


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    """`MEND_ENV=production` (or `prod`): every development fallback is refused (the dev token
    keys, the built-in dev KEK, plain-http identity providers, the demo agency)."""
    return MendSettings.load(environ).production


def service_url(name: str) -> str:
    """Where service `name` answers (`MEND_<NAME>_URL`)."""
    return MendSettings.load().service_url(name)


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
