"""The store's SQL definitions (mend_events/store/sql) against the numbered scripts they
replaced (kept in legacy_sql/ as existing databases applied them): a schema built by the old
scripts and then migrated, and a fresh one, hold the same objects, and applying the
definitions again changes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
from mend_events.store.migrate import migrate_schema

LEGACY = Path(__file__).parent / "legacy_sql"

# Everything a schema's objects are: columns, constraints, indexes, functions with their
# settings, triggers, owners and privileges (of tables, columns, functions and the schema).
_CATALOG = {
    "columns": """
        SELECT table_name, ordinal_position, column_name, data_type, is_nullable,
               column_default, is_identity, identity_generation
          FROM information_schema.columns WHERE table_schema = $1
         ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1, 2""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
    "functions": """
        SELECT proname, pg_get_functiondef(oid), proconfig::text, proacl::text, prosecdef,
               proowner::regrole::text
          FROM pg_proc WHERE pronamespace = $1::regnamespace ORDER BY 1""",
    "triggers": """
        SELECT tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal ORDER BY 1""",
    "relations": """
        SELECT relname, relkind::text, relacl::text, relowner::regrole::text FROM pg_class
         WHERE relnamespace = $1::regnamespace ORDER BY 1""",
    "column privileges": """
        SELECT c.relname, a.attname, a.attacl::text FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = $1::regnamespace AND a.attacl IS NOT NULL ORDER BY 1, 2""",
    "schema": "SELECT nspacl::text, nspowner::regrole::text FROM pg_namespace WHERE nspname = $1",
}


async def catalog(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple]]:
    """The schema's objects, with its name replaced, so two schemas compare."""
    out = {}
    for what, sql in _CATALOG.items():
        rows = await conn.fetch(sql, schema)
        out[what] = [
            tuple(v.replace(schema, "S") if isinstance(v, str) else v for v in row) for row in rows
        ]
    return out


async def apply_legacy(conn: asyncpg.Connection, schema: str) -> None:
    """What the migrator did before the definitions: the numbered scripts, each recorded."""
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE mend_owner")
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(
            f"CREATE TABLE {schema}.schema_migrations ("
            "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for script in sorted(LEGACY.glob("*.sql")):
            await conn.execute(script.read_text().replace("{schema}", schema))
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (name) VALUES ($1)",
                f"mend_events:{script.name}",
            )


@pytest.fixture
async def two_schemas(admin_conn):
    names = (f"t_old_{uuid.uuid4().hex[:8]}", f"t_new_{uuid.uuid4().hex[:8]}")
    yield names
    for name in names:
        await admin_conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def test_an_existing_schema_and_a_fresh_one_end_with_the_same_objects(
    admin_conn, two_schemas
):
    old, new = two_schemas
    await apply_legacy(admin_conn, old)
    assert await migrate_schema(admin_conn, old, None) == []
    assert await migrate_schema(admin_conn, new, None) == []
    migrated, fresh = await catalog(admin_conn, old), await catalog(admin_conn, new)
    assert len(fresh["relations"]) > 10 and len(fresh["functions"]) == 2
    for what in _CATALOG:
        assert migrated[what] == fresh[what], what


async def test_applying_the_definitions_again_changes_nothing(admin_conn, two_schemas):
    _, schema = two_schemas
    await migrate_schema(admin_conn, schema, None)
    before = await catalog(admin_conn, schema)
    await migrate_schema(admin_conn, schema, None)
    assert await catalog(admin_conn, schema) == before


async def test_the_append_function_keeps_its_planner_settings(admin_conn, two_schemas):
    """The settings that keep append_batch's cached plan on the indexes (03_append_batch.sql)
    hold on a schema that had 0004's and 0005's ALTER and REPLACE, and on a fresh one."""
    for schema in two_schemas:
        if schema.startswith("t_old"):
            await apply_legacy(admin_conn, schema)
        await migrate_schema(admin_conn, schema, None)
        config = await admin_conn.fetchval(
            "SELECT proconfig FROM pg_proc WHERE proname = 'append_batch' "
            "AND pronamespace = $1::regnamespace",
            schema,
        )
        assert set(config) >= {
            "plan_cache_mode=force_generic_plan",
            "enable_seqscan=off",
            "enable_hashjoin=off",
            "enable_mergejoin=off",
        }
