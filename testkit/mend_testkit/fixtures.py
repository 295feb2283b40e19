"""The repo-wide pytest plugin: fixtures for tests against the real broker and database.

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
from mend_events.app.db import create_pool
from mend_events.app.settings import Settings
from mend_events.store.migrate import migrate_schema

ROOT = Path(__file__).resolve().parents[2]


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
    from mend_events.messaging.topics import delete_topics

    prefix = f"t{unique}."
    yield prefix
    with contextlib.suppress(Exception):  # a broker killed by the test may still be coming up
        await delete_topics(platform.kafka_bootstrap, prefix)


# --- identities and running services ---------------------------------------------------------


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    """Agency signing keys for this test session; the verifier reads their public halves."""
    from mend_events.security.identity import reset_default_verifier

    path = tmp_path_factory.mktemp("keys")
    os.environ["MEND_KEYS_DIR"] = str(path)
    reset_default_verifier()
    return path


@pytest.fixture
def token(keys_dir):
    """`token(role, person_id, agency="agency-a")` -> an `Authorization` header. A
    practitioner's cases are not in the token: allocate them (`directory.allocate`)."""
    from mend_events.contracts.actors import Role

    from mend_testkit.devkeys import DEV_KID, ensure_agency_keys, issue_token

    def make(role: Role | str, person_id: str, agency: str = "agency-a") -> dict[str, str]:
        ensure_agency_keys(agency, keys_dir)
        # Signed as the hub signs (a key id): where a test onboards the agency at the hub, it
        # publishes this development key under DEV_KID (mend_testkit.hub.onboard).
        raw = issue_token(agency, Role(role), person_id, keys_dir=keys_dir, kid=DEV_KID)
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
    from mend_events.messaging.topics import ensure_topics

    schema = await make_schema(platform, service, f"{service}_{unique}")
    await ensure_topics(platform.kafka_bootstrap, [service], prefix=topic_prefix)
    app, runtime = build(platform, schema=schema, topic_prefix=topic_prefix, **options)
    try:
        async with started(app, runtime) as running:
            yield running
    finally:
        if not keep_schema:
            await drop_schema(platform, schema)


def service_fixture(build, service: str, **options):
    """A fixture named `service` that runs it (built by `build` with `options`) for each test
    on its own schema and topics, as `running_service` does: it yields (client, app, runtime)."""

    @pytest.fixture(name=service)
    async def running(platform, unique, topic_prefix):
        async with running_service(build, service, platform, unique, topic_prefix, **options) as r:
            yield r

    return running


@contextlib.asynccontextmanager
async def started(app, runtime):
    """Start `runtime` and yield (client, app, runtime), the client talking to `app` in process
    (ASGI); stop the runtime after."""
    import httpx

    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app, runtime
    finally:
        await runtime.stop()


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[str]:
    """Serve `app` over real HTTP (uvicorn in this process, on a free port) and yield its base
    URL, for tools that talk to a service over the network (the `mend` CLI). The app's runtime
    is the caller's (`running_service`); uvicorn only serves it."""
    import asyncio

    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None
    )  # access_log=False would silence "uvicorn.access" for the rest of the process
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def cli_runner(main, command: str, url: str, token, capsys):
    """`run(who, *args)`: the command-line tool `main` run as `mend <command> <args>` against
    `url` with `who`'s development token (who: the `token` fixture's arguments), in a thread
    (the tool is synchronous); returns (exit code, stdout, stderr)."""
    import asyncio

    async def run(who: tuple[str, ...], *args: str) -> tuple[int, str, str]:
        raw = token(*who)["Authorization"].split()[1]
        argv = [command, *args, "--url", url, "--token", raw]
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run
