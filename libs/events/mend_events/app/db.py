"""asyncpg pools with the codecs every service uses (jsonb through orjson), and a bounded wait
for a connection: no caller waits for ever on a pool that is used up."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from mend_events.app.tls import database_context
from mend_events.errors import Unavailable

# How long a caller waits for a pooled connection before it is told to try again (503).
ACQUIRE_TIMEOUT_S = 5.0
# What a lost or restarting database raises: a server error, a socket error, or asyncpg's own
# InterfaceError (a connection closed under a statement is neither of the first two). Loops that
# must outlive an outage (projections, the trust listener) retry on all of them.
DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class PoolBusy(Unavailable, TimeoutError):
    """No connection came free within the pool's acquire timeout. A request answers 503; a
    consumer retries it as an infrastructure fault (it is a TimeoutError, hence an OSError)."""

    def __init__(self) -> None:
        super().__init__("the service is busy; try again shortly")


class Pool(asyncpg.Pool):
    """An asyncpg pool whose every acquire (`acquire()`, and `fetch` & co. that use it) is
    bounded by `acquire_timeout` unless the caller names another timeout."""

    def __init__(self, *args: Any, acquire_timeout: float = ACQUIRE_TIMEOUT_S, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    # asyncpg's own signature, which `acquire()` calls.
    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:  # noqa: ASYNC109
        try:
            return await super()._acquire(self.acquire_timeout if timeout is None else timeout)
        except TimeoutError:
            raise PoolBusy() from None


async def fetch_dicts(conn: asyncpg.Connection, query: str, *args: Any) -> list[dict[str, Any]]:
    """The rows of `query` as plain dicts: what a read model hands to an API listing."""
    return [dict(r) for r in await conn.fetch(query, *args)]


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


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    acquire_timeout: float = ACQUIRE_TIMEOUT_S,
) -> Pool:
    pool = Pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        init=init_connection,
        reset=_no_session_reset,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        # Statements are few and hot: keep their plans.
        statement_cache_size=256,
        acquire_timeout=acquire_timeout,
        **tls_options(),
    )
    await pool
    return pool


def tls_options() -> dict[str, Any]:
    """asyncpg's `ssl=` for every connection: `MEND_DATABASE_TLS`'s verifying context, or
    nothing (the URL's own `sslmode` applies)."""
    context = database_context()
    return {} if context is None else {"ssl": context}


async def connect(dsn: str, **options: Any) -> asyncpg.Connection:
    """One connection outside a pool (the relay's lock, LISTEN, migrations), with the same
    TLS as the pools."""
    return await asyncpg.connect(dsn, **tls_options(), **options)
