"""asyncpg pools with the codecs every service uses (jsonb through orjson)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: pooled connections hold only transaction-scoped state
    (xact advisory locks, SET LOCAL; asyncpg itself rolls back an open transaction). The
    default reset query would add a round trip to every acquire. Session-level state (the
    relay's advisory lock, LISTEN) lives on connections of its own, outside any pool."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=_no_session_reset,
        # Statements are few and hot: keep their plans.
        statement_cache_size=256,
    )
