"""The real database: the application role connects, a schema holds a jsonb round trip."""

from __future__ import annotations

import asyncpg


async def test_app_role_round_trips_jsonb(platform, admin_conn, unique):
    schema = f"smoke_{unique}"
    await admin_conn.execute(f"CREATE SCHEMA {schema}")
    await admin_conn.execute(f"CREATE TABLE {schema}.doc (id int PRIMARY KEY, body jsonb)")
    await admin_conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO mend_app")
    await admin_conn.execute(f"GRANT SELECT, INSERT ON {schema}.doc TO mend_app")
    try:
        conn = await asyncpg.connect(platform.database_url)
        try:
            assert await conn.fetchval("SELECT current_user") == "mend_app"
            body = '{"case": "case-1234", "forms": ["letter", "indirect"], "n": 3}'
            await conn.execute(f"INSERT INTO {schema}.doc VALUES (1, $1::jsonb)", body)
            got = await conn.fetchval(f"SELECT body->'forms'->>1 FROM {schema}.doc WHERE id = 1")
            assert got == "indirect"
            assert await conn.fetchval(f"SELECT (body->>'n')::int FROM {schema}.doc") == 3
            # The application role cannot create schemas of its own.
            try:
                await conn.execute(f"CREATE SCHEMA rogue_{schema}")
                raise AssertionError("mend_app created a schema")
            except asyncpg.InsufficientPrivilegeError:
                pass
        finally:
            await conn.close()
    finally:
        await admin_conn.execute(f"DROP SCHEMA {schema} CASCADE")
