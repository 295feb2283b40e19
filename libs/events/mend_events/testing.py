"""pytest fixtures for tests against the real broker and database.

The session starts (or reuses) the local platform through the same launcher as `make up`;
each test gets its own database schema and its own topic names, so tests never see each
other's events. With `MEND_TESTCONTAINERS=1` and a Docker engine, Kafka and PostgreSQL come
from testcontainers instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from mend_events.db import create_pool
from mend_events.migrate import migrate_schema
from mend_events.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def _launcher():
    spec = importlib.util.spec_from_file_location(
        "mend_launcher", ROOT / "deploy/local/launcher.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["mend_launcher"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def launcher():
    return _launcher()


@pytest.fixture(scope="session")
def platform(launcher) -> Iterator[Settings]:
    """Kafka and PostgreSQL, started by the local launcher if they are not running."""
    if os.environ.get("MEND_TESTCONTAINERS") == "1":
        yield from _containers()
        return
    local = launcher.Settings.from_env()
    try:
        launcher.up_infra(local)
    except launcher.LaunchError as exc:
        pytest.fail(f"the local platform did not start: {exc}")
    for key, value in local.env().items():
        os.environ.setdefault(key, value)
    yield Settings(local.kafka_bootstrap, local.database_url, local.admin_database_url)


def _containers() -> Iterator[Settings]:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15") as pg, KafkaContainer().with_kraft() as kafka:
        admin = pg.get_connection_url().replace("postgresql+psycopg2", "postgresql")
        import asyncio

        async def bootstrap() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute(
                "CREATE ROLE mend_app LOGIN PASSWORD 'mend_app'; CREATE ROLE mend_owner NOLOGIN;"
                f"GRANT CREATE ON DATABASE {pg.dbname} TO mend_owner;"
            )
            await conn.close()

        asyncio.run(bootstrap())
        app = admin.replace(f"{pg.username}:{pg.password}", "mend_app:mend_app")
        yield Settings(kafka.get_bootstrap_server(), app, admin)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def admin_conn(platform: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(platform.admin_database_url)
    yield conn
    await conn.close()


async def make_schema(platform: Settings, service: str | None, name: str) -> str:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await migrate_schema(conn, name, service)
    finally:
        await conn.close()
    return name


async def drop_schema(platform: Settings, name: str) -> None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def schema(platform: Settings, unique: str) -> AsyncIterator[str]:
    """A fresh event-store schema for this test, dropped afterwards."""
    name = await make_schema(platform, None, f"t_{unique}")
    yield name
    await drop_schema(platform, name)


@pytest.fixture
async def app_pool(platform: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the application role: SELECT and append only on events."""
    pool = await create_pool(platform.database_url, min_size=1, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def topic_prefix(unique: str, platform: Settings) -> AsyncIterator[str]:
    """Prefix for this test's topics: `<prefix><service>.events.v1`; deleted afterwards."""
    from mend_events.topics import delete_topics

    prefix = f"t{unique}."
    yield prefix
    with contextlib.suppress(Exception):  # a broker killed by the test may still be coming up
        await delete_topics(platform.kafka_bootstrap, prefix)


# --- identities and running services ---------------------------------------------------------


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    """Agency signing keys for this test session; the verifier reads their public halves."""
    from mend_events.identity import reset_default_verifier

    path = tmp_path_factory.mktemp("keys")
    os.environ["MEND_KEYS_DIR"] = str(path)
    reset_default_verifier()
    return path


@pytest.fixture
def token(keys_dir):
    """`token(role, person_id, agency="agency-a", cases=())` -> an `Authorization` header."""
    from mend_events.devkeys import ensure_agency_keys, issue_token
    from mend_events.identity_types import Role

    def make(
        role: Role | str, person_id: str, agency: str = "agency-a", cases: tuple[str, ...] = ()
    ) -> dict[str, str]:
        ensure_agency_keys(agency, keys_dir)
        raw = issue_token(agency, Role(role), person_id, cases=cases, keys_dir=keys_dir)
        return {"Authorization": f"Bearer {raw}"}

    return make


@contextlib.asynccontextmanager
async def running_service(
    build,
    service: str,
    platform: Settings,
    unique: str,
    topic_prefix: str,
    *,
    keep_schema: bool = False,
    **options,
):
    """Start a service's app and runtime on its own schema and topics; yield (client, app,
    runtime). The HTTP client talks to the app in process (ASGI), the runtime to the real
    database and broker. With `keep_schema`, a second start with the same `unique` finds the
    first one's data (a restart); the caller drops the schema."""
    import httpx

    from mend_events.topics import ensure_topics

    schema = await make_schema(platform, service, f"{service}_{unique}")
    await ensure_topics(platform.kafka_bootstrap, [service], prefix=topic_prefix)
    app, runtime = build(platform, schema=schema, topic_prefix=topic_prefix, **options)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app, runtime
    finally:
        await runtime.stop()
        if not keep_schema:
            await drop_schema(platform, schema)


# --- cases, as the sessions service opens them ------------------------------------------------


def sessions_event(case_id: str, model, *, agency: str = "agency-a", actor: str = "prac-seed01"):
    """A RecordedEvent of the sessions service, as its relay publishes it (for a consumer's
    handler, e.g. the case directory's `apply`)."""
    from datetime import UTC, datetime

    from mend_events.envelope import Metadata, RecordedEvent
    from mend_events.identity_types import Role

    at = datetime.now(UTC)
    role = Role.HARMED_PERSON if actor.startswith("hp-") else Role.PRACTITIONER
    return RecordedEvent(
        global_position=1,
        stream_id=case_id,
        stream_version=1,
        event_id=uuid.uuid4(),
        event_type=model.event_type,
        schema_version=model.schema_version,
        data=model.to_data(),
        recorded_at=at,
        case_id=case_id,
        metadata=Metadata(actor, role, agency, uuid.uuid4(), None, at),
        service="sessions",
    )


async def open_case(
    runtime,
    case_id: str,
    harmed_person_id: str,
    *,
    agency: str = "agency-a",
    members: dict[str, str] | None = None,
) -> None:
    """Make `case_id` known to a service that is not the sessions service, through the same
    code path as the sessions service's CaseOpened and ParticipantEnrolled arriving over the
    broker (`CaseDirectory.apply` in a transaction). `members`: person id -> role."""
    from mend_events.catalog.sessions import (
        CaseOpened,
        HarmCategory,
        JusticeStage,
        ParticipantEnrolled,
        ParticipantRole,
        Route,
    )

    events = [
        sessions_event(
            case_id,
            CaseOpened(
                harm_category=HarmCategory.SEXUAL_ASSAULT,
                justice_stage=JusticeStage.NONE,
                agency=agency,
                harmed_person_id=harmed_person_id,
                route=Route.SELF_REFERRAL,
            ),
            agency=agency,
            actor=harmed_person_id,
        )
    ]
    for person, role in (members or {}).items():
        model = ParticipantEnrolled(person_id=person, role=ParticipantRole(role))
        events.append(sessions_event(case_id, model, agency=agency))
    async with runtime.pool.acquire() as conn:
        await apply_case_events(conn, runtime.schema, events)


async def apply_case_events(conn: asyncpg.Connection, schema: str, events: list) -> None:
    """Apply sessions events to `schema`'s case directory in one transaction, as the
    subscription's inbox transaction does."""
    from mend_events.cases import CaseDirectory

    directory = CaseDirectory(schema)
    async with conn.transaction():
        for event in events:
            await directory.apply(conn, event)


# --- the authorization matrix: every role, two agencies, strangers of the same agency ---------

MATRIX_CASE, MATRIX_AGENCY, OTHER_AGENCY = "case-0001aa", "agency-a", "agency-b"
MATRIX_HP, MATRIX_RP, MATRIX_SUP, MATRIX_INST = "hp-0001aa", "rp-0001aa", "sup-0001aa", "ir-0001aa"


def matrix_entry():
    """The case of the matrix: opened in agency A by MATRIX_HP, with a responsible person, a
    supporter and an institution representative enrolled."""
    from mend_events.cases import CaseEntry
    from mend_events.identity_types import Role

    return CaseEntry(
        case_id=MATRIX_CASE,
        agency=MATRIX_AGENCY,
        harmed_person_id=MATRIX_HP,
        members={
            MATRIX_HP: Role.HARMED_PERSON,
            MATRIX_RP: Role.RESPONSIBLE_PERSON,
            MATRIX_SUP: Role.SUPPORTER,
            MATRIX_INST: Role.INSTITUTION_REP,
        },
    )


def matrix_callers() -> dict:
    """name -> Identity: each role as a member of the case (or allocated to it), as a stranger
    of the same agency (same role, not a member, or not allocated), and each again with the
    other agency's token (same person ids, the case in its allocated cases)."""
    from mend_events.identity import Identity
    from mend_events.identity_types import Role

    case = frozenset({MATRIX_CASE})
    people = {
        "harmed person": (Role.HARMED_PERSON, MATRIX_HP, frozenset()),
        "responsible person": (Role.RESPONSIBLE_PERSON, MATRIX_RP, frozenset()),
        "supporter": (Role.SUPPORTER, MATRIX_SUP, frozenset()),
        "institution rep": (Role.INSTITUTION_REP, MATRIX_INST, frozenset()),
        "allocated practitioner": (Role.PRACTITIONER, "prac-0001aa", case),
        "coordinator": (Role.COORDINATOR, "coord-0001aa", frozenset()),
        "auditor": (Role.AUDITOR, "aud-0001aa", frozenset()),
        "operator": (Role.OPERATOR, "ops-0001aa", frozenset()),
        "system": (Role.SYSTEM, "svc-other1", frozenset()),
        # strangers of the same agency: the same role, no part in this case
        "stranger harmed person": (Role.HARMED_PERSON, "hp-0009zz", frozenset()),
        "stranger responsible person": (Role.RESPONSIBLE_PERSON, "rp-0009zz", frozenset()),
        "stranger supporter": (Role.SUPPORTER, "sup-0009zz", frozenset()),
        "stranger institution rep": (Role.INSTITUTION_REP, "ir-0009zz", frozenset()),
        "unallocated practitioner": (Role.PRACTITIONER, "prac-0009zz", frozenset()),
        # a member whose token claims another role than the one they were enrolled in
        "responsible person as supporter": (Role.SUPPORTER, MATRIX_RP, frozenset()),
    }
    callers = {}
    for name, (role, person, cases) in people.items():
        callers[name] = Identity(MATRIX_AGENCY, role, person, cases)
        callers[f"{name} of {OTHER_AGENCY}"] = Identity(OTHER_AGENCY, role, person, case)
    return callers


def leaks(allowed: dict[tuple[str, str], bool], expected: dict[str, set[str]]) -> list[str]:
    """(caller, action) pairs allowed although `expected` (action -> callers) does not allow
    them, and those refused although it does: the matrix's report."""
    out = []
    for (caller, action), got in sorted(allowed.items()):
        if got != (caller in expected.get(action, set())):
            out.append(f"{caller} {'may' if got else 'may not'} {action}")
    return out
