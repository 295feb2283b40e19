"""The SQL of each service's schema: current definitions, then versioned migrations.

Each schema first gets the event store's definitions (`mend_events/store/sql`, one object per
file: tables, functions, privileges), applied on every run and written to be applied again
(CREATE OR REPLACE, IF NOT EXISTS, GRANT), so a fresh schema and an existing one end with the
same objects. Then the numbered migrations, each once, recorded in `<schema>.schema_migrations`:
the shared ones (`mend_events/migrations`, kept for data changes) and then its service's own
(`mend_<service>/migrations`), in name order. All of it in one transaction. Objects are owned by
`mend_owner`; the application role `mend_app` gets only what the scripts grant.

    python -m mend_events.store.migrate consent risk sessions aftercare
"""

from __future__ import annotations

import asyncio
import importlib.resources
import sys
from dataclasses import dataclass

import asyncpg

from mend_events.app.db import connect
from mend_events.app.settings import Settings
from mend_events.store.schemas import checked_schema


@dataclass(frozen=True)
class Script:
    name: str
    sql: str


def scripts_of(package: str) -> list[Script]:
    try:
        folder = importlib.resources.files(package) / "migrations"
    except ModuleNotFoundError:
        return []
    if not folder.is_dir():
        return []
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [Script(f"{package}:{f.name}", f.read_text()) for f in files]


def definitions() -> list[Script]:
    """The event store's current definitions, in the order they depend on each other."""
    folder = importlib.resources.files("mend_events") / "store" / "sql"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [Script(f"mend_events:store/sql/{f.name}", f.read_text()) for f in files]


def scripts_for(service: str | None) -> list[Script]:
    found = scripts_of("mend_events.store")
    if service:
        found += scripts_of(f"mend_{service}")
    return found


async def migrate_schema(conn: asyncpg.Connection, schema: str, service: str | None) -> list[str]:
    """Apply the definitions and the migrations missing in `schema`; returns the names of the
    migrations applied. Safe to run concurrently."""
    checked_schema(schema)
    applied: list[str] = []
    async with conn.transaction():
        # One migrator per schema at a time; the lock ends with the transaction.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute("SET LOCAL ROLE mend_owner")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for definition in definitions():
            await conn.execute(definition.sql.replace("{schema}", schema))
        done = {r["name"] for r in await conn.fetch(f"SELECT name FROM {schema}.schema_migrations")}
        for script in scripts_for(service):
            if script.name in done:
                continue
            await conn.execute(script.sql.replace("{schema}", schema))
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (name) VALUES ($1)", script.name
            )
            applied.append(script.name)
    return applied


async def main(services: list[str]) -> None:
    conn = await connect(Settings.from_env().admin_database_url)
    try:
        for service in services:
            applied = await migrate_schema(conn, service, service)
            print(f"{service}: definitions applied, {len(applied)} migration(s) applied")
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
