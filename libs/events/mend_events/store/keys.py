"""Binding idempotency keys to their requests, in the same batch as the append they guard."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from mend_events.store.results import AppendRequest, KeyReused


async def bind_keys(
    conn: asyncpg.Connection, schema: str, batch: list[AppendRequest]
) -> tuple[list[AppendRequest], list[AppendRequest]]:
    """Bind the batch's idempotency keys to their requests in one statement; refuse each
    request whose key another request holds. Returns the requests to write now and those
    to write in the next batch (a key a request before them in this batch carries, or one
    that another writer bound while this statement ran)."""
    now: list[AppendRequest] = []
    later: list[AppendRequest] = []
    keyed: dict[UUID, AppendRequest] = {}
    for request in batch:
        if request.key is None:
            now.append(request)
        elif request.key.key_id in keyed:
            later.append(request)
        else:
            keyed[request.key.key_id] = request
            now.append(request)
    rows = await conn.fetch(
        f"WITH asked AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], "
        f"$4::integer[]) AS a(k, s, r, v)), bound AS (INSERT INTO {schema}."
        f"idempotency_keys (key_id, stream_id, request, after_version) SELECT k, s, r, v "
        f"FROM asked ON CONFLICT (key_id) DO NOTHING RETURNING key_id) "
        f"SELECT a.k, b.key_id IS NOT NULL AS mine, i.stream_id, i.request FROM asked a "
        f"LEFT JOIN bound b ON b.key_id = a.k "
        f"LEFT JOIN {schema}.idempotency_keys i ON i.key_id = a.k",
        list(keyed),
        [r.stream_id for r in keyed.values()],
        [r.key.request for r in keyed.values() if r.key is not None],
        [r.expected_version for r in keyed.values()],
    )
    refused: set[UUID] = set()
    for row in rows:
        request = keyed[row["k"]]
        if row["mine"]:
            continue
        if row["stream_id"] is None:  # bound by another writer after this snapshot
            refused.add(row["k"])
            later.append(request)
        elif (row["stream_id"], row["request"]) != (request.stream_id, request.key.request):
            refused.add(row["k"])
            request.future.set_exception(KeyReused())
    return [r for r in now if r.key is None or r.key.key_id not in refused], later
