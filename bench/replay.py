"""Replay of 100,000 cases' events from the four services' stores into the case-history
projection (`mend_audit`), against a raw asyncpg read of the same rows (every column the
projection takes, read and JSON-decoded as the rebuild reads them, nothing else done).
Goal: >= 50,000 events/s.

Each case holds ten events across the four stores, with real event types and data and the
causation ids that link them (a withdrawal, the halt it caused, the after-care offered for the
halt), recorded over time with the cases interleaved. The rows are generated inside PostgreSQL
(`generate_series`, as the admin role: fast to load); the replay reads them as the application
role, exactly as `mend audit rebuild` does.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson
from mend_audit.projection import CaseHistoryProjection, migrate
from mend_events.app.settings import SERVICES, Settings
from mend_events.store.migrate import migrate_schema

from bench.common import Result, Timer, app_pool, result

CASES = 100_000
PAGE = 5_000  # the projection's batch size
# What the projection takes from each stored event (everything but the hash), JSON as text.
_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, schema_version, "
    "case_id, data::text, metadata::text, recorded_at"
)

# (service, stream version, step in the case's life, event type, data as SQL over `i`).
# Steps order the events in time: every case's step s is recorded before any case's step s+1.
_CASE = "'case-' || lpad(i::text, 8, '0')"
_HP, _RP, _PRAC = "'hp-' || lpad(i::text, 8, '0')", "'rp-' || lpad(i::text, 8, '0')", "'prac-0001'"
_EVENTS = [
    (
        "sessions",
        1,
        0,
        "CaseOpened",
        f"jsonb_build_object('harm_category', 'sexual_assault', 'justice_stage', 'none', "
        f"'agency', 'agency-bench', 'harmed_person_id', {_HP}, 'route', 'self_referral')",
    ),
    ("sessions", 2, 1, "FacilitatorChosen", f"jsonb_build_object('practitioner_id', {_PRAC})"),
    (
        "consent",
        1,
        2,
        "ConsentGiven",
        f"jsonb_build_object('grant_id', md5('g1' || i)::uuid, 'participant_id', {_HP}, "
        f"'participant_role', 'harmed_person', 'scope', 'take_part', 'informed_how', 'both', "
        f"'no_incentive_attested', true, 'witnessed_by', {_PRAC}, 'expires_at', null)",
    ),
    (
        "consent",
        2,
        3,
        "ConsentGiven",
        f"jsonb_build_object('grant_id', md5('g2' || i)::uuid, 'participant_id', {_HP}, "
        f"'participant_role', 'harmed_person', 'scope', 'contact:face_to_face', "
        f"'informed_how', 'both', 'no_incentive_attested', true, 'witnessed_by', {_PRAC}, "
        f"'expires_at', null)",
    ),
    (
        "risk",
        1,
        4,
        "RiskAssessmentStarted",
        "jsonb_build_object('assessment_id', md5('a' || i)::uuid, 'stage', 'full')",
    ),
    (
        "risk",
        2,
        5,
        "RiskAssessmentCompleted",
        "jsonb_build_object('assessment_id', md5('a' || i)::uuid, 'decision', 'proceed', "
        "'permitted_forms', jsonb_build_array(jsonb_build_object('form', 'face_to_face', "
        "'with_responsible_person', true)), 'reasons', jsonb_build_array("
        "'suitable_with_safeguards'), 'signed_off_by', 'prac-spec01', "
        "'valid_until', '2026-06-01T00:00:00+00:00')",
    ),
    (
        "sessions",
        3,
        6,
        "SessionScheduled",
        f"jsonb_build_object('session_id', 'sess-' || i, 'form', 'face_to_face', "
        f"'participants', jsonb_build_array(jsonb_build_object('id', {_HP}, 'role', "
        f"'harmed_person'), jsonb_build_object('id', {_RP}, 'role', 'responsible_person')), "
        f"'facilitator_id', {_PRAC}, 'team', jsonb_build_array({_PRAC}, 'prac-spec01'), "
        f"'scheduled_for', '2026-04-01T10:00:00+00:00', 'speaks_first', {_HP})",
    ),
    (
        "consent",
        3,
        7,
        "ConsentWithdrawn",
        f"jsonb_build_object('participant_id', {_HP}, 'target', 'everything', 'scope', null, "
        f"'grants', jsonb_build_array(jsonb_build_object('grant_id', md5('g1' || i)::uuid, "
        f"'scope', 'take_part'), jsonb_build_object('grant_id', md5('g2' || i)::uuid, "
        f"'scope', 'contact:face_to_face')), 'reason', jsonb_build_object('alg', 'A256GCM', "
        f"'kid', 'k-' || i, 'iv', 'aXZpdml2aXZpdml2', 'ct', 'Y2lwaGVydGV4dA=='))",
    ),
    (
        "sessions",
        4,
        8,
        "SessionHalted",
        "jsonb_build_object('session_id', 'sess-' || i, 'halted_by_id', null, "
        "'halted_by_role', 'system', 'cause', 'consent_withdrawn', "
        "'cause_event_id', md5('consent-' || i || '-3')::uuid)",
    ),
    (
        "aftercare",
        1,
        9,
        "AftercareOffered",
        f"jsonb_build_object('harmed_person_id', {_HP}, 'cause', 'session_halted', "
        f"'cause_event_id', md5('sessions-' || i || '-4')::uuid, 'reopens_closure', null)",
    ),
]
# Consequences carry their cause: the halt was caused by the withdrawal, the offer by the halt.
_CAUSES = {
    ("sessions", 4): "md5('consent-' || i || '-3')::uuid",
    ("aftercare", 1): "md5('sessions-' || i || '-4')::uuid",
}
_ACTORS = {  # (actor, role) by event type
    "CaseOpened": (_HP, "'harmed_person'"),
    "FacilitatorChosen": (_HP, "'harmed_person'"),
    "ConsentGiven": (_HP, "'harmed_person'"),
    "ConsentWithdrawn": (_HP, "'harmed_person'"),
    "SessionHalted": ("'svc-sessions'", "'system'"),
    "AftercareOffered": ("'svc-aftercare'", "'system'"),
}


def _load_sql(schema: str, service: str, cases: int = CASES) -> str:
    """One INSERT of every case's events of one service. For each case in turn its events come
    out in time order, so global positions follow recorded_at as they do in a live store."""
    steps = len(_EVENTS)
    values = []
    for svc, version, step, event_type, data in _EVENTS:
        if svc != service:
            continue
        actor, role = _ACTORS.get(event_type, (_PRAC, "'practitioner'"))
        cause = _CAUSES.get((svc, version), "null")
        values.append(f"({version}, {step}, '{event_type}', {data}, {actor}, {role}, {cause})")
    at = "timestamptz '2026-01-01 00:00:00+00' + (v.step + {steps} * i) * interval '1 ms'"
    at = at.replace("{steps}", str(steps))
    meta = (
        f"jsonb_build_object('actor_id', v.actor, 'role', v.role, 'agency', 'agency-bench', "
        f"'correlation_id', md5('corr' || i)::uuid, 'causation_id', v.cause, "
        f"'occurred_at', to_char(({at}) AT TIME ZONE 'UTC', "
        f'\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\'))'
    )
    return (
        f"INSERT INTO {schema}.events (stream_id, stream_version, event_id, event_type, "
        f"schema_version, case_id, data, metadata, recorded_at, prev_hash, hash) "
        f"SELECT {_CASE}, v.version, md5('{service}-' || i || '-' || v.version)::uuid, v.type, "
        f"1, {_CASE}, v.data, {meta}, {at}, '\\x00'::bytea, '\\x00'::bytea "
        f"FROM generate_series(1, {cases}) AS i CROSS JOIN LATERAL (VALUES "
        f"{', '.join(values)}) AS v(version, step, type, data, actor, role, cause)"
    )


async def _load(settings: Settings, schema: str, service: str, cases: int = CASES) -> None:
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, schema, None)
        if any(svc == service for svc, *_ in _EVENTS):  # the hub's store stays empty
            await conn.execute(_load_sql(schema, service, cases))
        # VACUUM, not only ANALYZE: a store's rows have long been all-visible, and the first
        # reader of freshly loaded rows would otherwise pay for setting their hint bits (the
        # baseline, measured first), and autovacuum would start on them mid-measure.
        await conn.execute(f"VACUUM (ANALYZE) {schema}.events")
    finally:
        await conn.close()


async def _stores(
    settings: Settings, tag: str, cases: int = CASES, label: str = "replay"
) -> dict[str, str]:
    schemas = {s: f"bench_{label}_{s}_{tag}" for s in SERVICES}
    await asyncio.gather(*(_load(settings, schema, s, cases) for s, schema in schemas.items()))
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate(conn, f"bench_{label}_audit_{tag}")
    finally:
        await conn.close()
    return schemas


async def raw_read(pool: asyncpg.Pool, schemas: dict[str, str]) -> int:
    """The baseline, a raw read like for like: the same rows and every column the projection
    takes from them (all but the hash), read the way the rebuild reads them (one server-side
    cursor per store in one read-only REPEATABLE READ transaction, pages of PAGE), with the
    same JSON decoding as the rebuild (each event's data parsed once with orjson; the metadata
    comes as text and is not parsed, since the rebuild has PostgreSQL extract its fields), and
    nothing else done with the rows."""
    total = 0
    loads = orjson.loads
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for schema in schemas.values():
            cursor = await conn.cursor(
                f"SELECT {_COLUMNS} FROM {schema}.events ORDER BY global_position"
            )
            while rows := await cursor.fetch(PAGE):
                for row in rows:
                    loads(row[7])
                total += len(rows)
    return total


async def run(settings: Settings) -> list[Result]:
    tag = uuid.uuid4().hex[:6]
    audit = f"bench_replay_audit_{tag}"
    pool = None
    try:
        schemas = await _stores(settings, tag)
        pool = await app_pool(settings, 2)
        with Timer() as base:
            read = await raw_read(pool, schemas)
        projection = CaseHistoryProjection(
            pool, schemas=schemas, audit_schema=audit, batch_size=PAGE
        )
        with Timer() as ours:
            replayed = await projection.rebuild()
        async with pool.acquire() as conn:
            stored = await conn.fetchval(f"SELECT count(*) FROM {audit}.case_history")
        assert read == replayed == stored == CASES * len(_EVENTS), (read, replayed, stored)
    finally:
        if pool is not None:
            await pool.close()
        conn = await asyncpg.connect(settings.admin_database_url)
        for schema in [*(f"bench_replay_{s}_{tag}" for s in SERVICES), audit]:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    note = (
        f"{CASES:,} cases x {len(_EVENTS)} events over 4 stores ({replayed:,} events), pages "
        f"of {PAGE}, stores vacuumed after loading; ours: CaseHistoryProjection.rebuild as "
        f"mend_app in one transaction (type and data of each event read through a server-side "
        f"cursor in one read-only REPEATABLE READ transaction on a second connection, a page "
        f"ahead; data parsed once for its summary and facts; summaries and withheld facts sent "
        f"as JSON arrays to an INSERT ... SELECT joining the page back to its store for the "
        f"envelope columns, while the next page is summarised; one index on case_id); "
        f"baseline: the same rows read the same way, the ten columns the projection takes "
        f"(all but the hash), data parsed with orjson as ours does, metadata as text (ours "
        f"has PostgreSQL extract its fields), rows discarded"
    )
    return [
        result(
            "replay.100k",
            replayed / ours.elapsed,
            "events/s",
            "raw asyncpg read of the same rows",
            read / base.elapsed,
            note=note,
        )
    ]
