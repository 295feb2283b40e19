"""Every `MEND_*` variable, as pydantic-settings classes: `MendSettings` holds what every process
reads, and each process subclasses it with its own (`mend_<service>.settings`, the launcher's
in `deploy/local/launcher_settings.py`). A field's description is its documentation: the
README's configuration table is generated from these classes (`python -m tools.config_table`).

Read through `load()`, never `os.environ`: a bad value is a `SettingsError` that names the
variable and what is wrong, never the value (which may be a password or a key)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "MEND_"
PRODUCTION_NAMES = frozenset({"prod", "production"})
# Where each service answers on the local platform (`MEND_<SERVICE>_URL` overrides).
DEFAULT_PORTS = {
    "consent": 8101,
    "risk": 8102,
    "sessions": 8103,
    "aftercare": 8104,
    "audit": 8105,
    "hub": 8106,
    "web": 8107,
    "disclosure": 8108,
    "circles": 8109,
}
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"
DEFAULT_LAG_MS = 2000
# Set while `load(environ)` builds settings from a given mapping instead of the environment.
_GIVEN_ONLY: ContextVar[bool] = ContextVar("mend_settings_given_only", default=False)


class SettingsError(ValueError):
    """A setting that cannot be used; names the variable, never its value."""


def variable(field: str) -> str:
    """The environment variable of a settings field (`kafka_user` -> `MEND_KAFKA_USER`)."""
    return f"{PREFIX}{field.upper()}"


def _url(name: str) -> Any:
    return Field(
        f"http://127.0.0.1:{DEFAULT_PORTS[name]}",
        description=f"where the {name} service answers (clients, the web app, tools)",
    )


class MendSettings(BaseSettings):
    """Read by every process: the broker, the database, the keys, production mode."""

    PROCESS: ClassVar[str] = "every process"
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", frozen=True, env_ignore_empty=True
    )

    env: str = Field(
        "development",
        description="`production` (or `prod`) refuses every development fallback: the "
        "`.mend/keys` token keys (and a `MEND_KEYS_DIR` holding private keys), the built-in "
        "master key, OIDC issuers or JWKS over plain http, the demo agency, topics a service "
        "would create itself",
    )
    kafka_bootstrap: str = Field("127.0.0.1:29092", description="Kafka bootstrap servers")
    kafka_user: str | None = Field(
        None,
        description="the process's Kafka principal (SASL/SCRAM); unset: the launcher's "
        "administrator when this checkout's launcher made one, else an unauthenticated broker",
    )
    kafka_password: SecretStr | None = Field(None, description="its password")
    kafka_password_file: Path | None = Field(
        None,
        description="the file holding the password (a mounted secret; the launcher's are "
        "random, in `.mend/kafka/secrets/<user>`)",
    )
    kafka_sasl_mechanism: str = Field(
        DEFAULT_SASL_MECHANISM, description="`SCRAM-SHA-512` or `SCRAM-SHA-256`"
    )
    kafka_tls: bool = Field(
        False,
        description="TLS to the broker (SASL_SSL; SSL without a principal), verifying its "
        "certificate chain and host name; off: a plaintext listener (the local platform's "
        "tests and tools)",
    )
    kafka_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA(s) the broker's certificate must chain to (with "
        "`MEND_KAFKA_TLS`); unset: the system's trust store",
    )
    kafka_cert_file: Path | None = Field(
        None, description="PEM client certificate for a broker that asks for one (mutual TLS)"
    )
    kafka_key_file: Path | None = Field(None, description="its private key (PEM)")
    database_tls: bool = Field(
        False,
        description="TLS to PostgreSQL as `sslmode=verify-full`: the server's chain and its host "
        "name in the URL; off: whatever the URL's `sslmode` says (the local platform's tests "
        "and tools: none)",
    )
    database_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA(s) PostgreSQL's certificate must chain to (with "
        "`MEND_DATABASE_TLS`); unset: the system's trust store",
    )
    database_cert_file: Path | None = Field(
        None, description="PEM client certificate, for a server that authenticates clients by one"
    )
    database_key_file: Path | None = Field(None, description="its private key (PEM)")
    database_url: str = Field(
        "postgresql://mend_app:mend_app@127.0.0.1:25432/mend?sslmode=disable",
        description="the application role (select + append only)",
    )
    admin_database_url: str = Field(
        "postgresql://mend_admin:mend_admin@127.0.0.1:25432/mend?sslmode=disable",
        description="the schema owner: migrations, the deployment's steps and tests only",
    )
    home: Path | None = Field(
        None,
        description="the launcher's state (default `.mend` in the checkout): the development "
        "Kafka secrets, keys and the demo accounts file",
    )
    keys_dir: Path | None = Field(
        None,
        description="agencies' token keys for agencies the hub publishes no keys for "
        "(`<agency>.pub.pem`; development private keys beside them); default `.mend/keys`",
    )
    agency_public_keys: str | None = Field(
        None, description="JSON `{agency: PEM}`: those keys given up front instead of a directory"
    )
    agency_keys: SecretStr | None = Field(
        None,
        description="JSON `{agency: base64 32-byte key}`: key-encryption keys for personal data "
        "(and the hub's sealed sign-in secrets and signing keys); unset: the master key's",
    )
    master_key: SecretStr | None = Field(
        None,
        description="base64, at least 32 bytes: the key every agency's key-encryption key is "
        "derived from when `MEND_AGENCY_KEYS` does not name it; unset: the development key",
    )
    share_signing_key: SecretStr | None = Field(
        None,
        description="base64 of the 32 raw bytes of the Ed25519 key that signs what partner "
        "agencies receive (docs/sharing.md); unset: derived from `MEND_MASTER_KEY` (the "
        "development key is refused in production)",
    )
    share_published_keys: str | None = Field(
        None,
        description="JSON list of base64 raw Ed25519 public keys published in the sharing JWKS "
        "beside the signing key (rotation: the next key, the previous one)",
    )
    case_lag_ms: int = Field(
        DEFAULT_LAG_MS,
        ge=0,
        description="how long a command on a case this service has not yet learnt of (its "
        "`CaseOpened` still on the way) waits before a 404",
    )
    topic_partitions: int = Field(
        6,
        ge=1,
        description="partitions of the topics the deployment's step makes (12 in production)",
    )
    topic_replication: int = Field(
        1, ge=1, description="their replication factor (3 in production)"
    )
    topic_min_insync: int = Field(
        1, ge=1, description="their `min.insync.replicas` (2 in production)"
    )
    partner_agencies: str = Field(
        "",
        description="the partner agencies of this deployment, comma-separated: each gets its "
        "own Kafka principal `partner-<agency>`, which may read only its share topic "
        "`mend.share.v1.<agency>` with consumer groups `partner-<agency>.*` (issue 18)",
    )
    shutdown_grace_seconds: float = Field(
        20,
        gt=0,
        le=600,
        description="seconds a service has from SIGTERM to its exit (keep it below the pod's "
        "`terminationGracePeriodSeconds`, 30 by default): half for the HTTP requests in flight, "
        "half for stopping the runtime (consumers finish their batch, commit their offsets and "
        "leave their groups; the relay saves its checkpoint; pools close); it then exits with "
        "code 0",
    )
    failpoint: str | None = Field(
        None,
        description="fault tests only: `relay-after-ack` kills the relay between the broker's "
        "ack and its checkpoint",
    )
    consent_url: str = _url("consent")
    risk_url: str = _url("risk")
    sessions_url: str = _url("sessions")
    aftercare_url: str = _url("aftercare")
    audit_url: str = _url("audit")
    hub_url: str = _url("hub")
    web_url: str = _url("web")
    disclosure_url: str = _url("disclosure")
    circles_url: str = _url("circles")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.topic_min_insync > self.topic_replication:
            raise ValueError("MEND_TOPIC_MIN_INSYNC may not exceed MEND_TOPIC_REPLICATION")
        return self

    @property
    def production(self) -> bool:
        return self.env.strip().lower() in PRODUCTION_NAMES

    def service_url(self, name: str) -> str:
        return str(getattr(self, f"{name}_url"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The process's environment only: no .env file or secrets directory is read behind
        # the operator's back (a secret comes as a `_FILE` variable the code reads).
        return (init_settings,) if _GIVEN_ONLY.get() else (init_settings, env_settings)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from the environment (or `environ`, a mapping of variables). Built
        once per class and set of `MEND_*` values (pydantic-settings takes milliseconds to
        read an environment; some callers ask per request): a changed variable, as tests
        change them, is a new set and a fresh build."""
        source = os.environ if environ is None else environ
        given = tuple(
            sorted((k.upper(), v) for k, v in source.items() if k.upper().startswith(PREFIX) and v)
        )
        return _build(cls, given)


@functools.lru_cache(maxsize=256)
def _build(cls: type[MendSettings], given: tuple[tuple[str, str], ...]) -> Any:
    values = dict(given)
    fields = {n: values[variable(n)] for n in cls.model_fields if variable(n) in values}
    token = _GIVEN_ONLY.set(True)  # these values alone, not the environment again
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    finally:
        _GIVEN_ONLY.reset(token)


def describe(exc: ValidationError) -> str:
    """The errors of a validation by variable and reason (pydantic's messages carry no input
    when asked without it; a password or key must never reach a log)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        reason = str(error["msg"]).removeprefix("Value error, ")
        # A check across fields (no location) names its variables in its own message.
        parts.append(f"{variable(str(error['loc'][0]))}: {reason}" if error["loc"] else reason)
    return "; ".join(parts)


class CliSettings(MendSettings):
    """The `mend` command line (`mend audit ...`, `mend erase`, `mend hub ...`)."""

    PROCESS: ClassVar[str] = "`mend` CLI"
    token: SecretStr | None = Field(
        None,
        description="the caller's signed token for `mend hub ...` and `mend erase` (or `--token`)",
    )
