"""A person's details in clear nowhere but in a permitted read: a canary name and number,
registered through the hub's API, are searched for in the hub's topic, its dead letters, its
log lines and every table of its schema. After the person's erasure (recorded by the consent
service, applied by the hub from the consent topic) the details are unreadable, the routes say
so (no 500), and the audit's verification of the stores and topics still passes."""

from __future__ import annotations

import io
import json
import logging as std_logging

import structlog
from bus_helpers import read_topic, wait_until
from mend_audit.verify import verify
from mend_consent.app import build as build_consent
from mend_events.app.logging import configure_logging
from mend_events.app.settings import dlq_topic, events_topic
from mend_testkit.fixtures import running_service

HP = "hp-ppl0001"


def needles(world) -> list[bytes]:
    """The canary's bytes as text, and as a bytea column would print them."""
    words = [world.canary, world.number, f"Canary-{world.canary.rsplit('-', 1)[1]}"]
    raw = [w.encode() for w in words]
    return raw + [r.hex().encode() for r in raw]


def found_in(blob: bytes, world) -> list[bytes]:
    return [n for n in needles(world) if n in blob]


async def every_table(admin_conn, schema: str) -> bytes:
    """Every row of every table of the schema, as text (jsonb, text, bytea as hex, ...)."""
    tables = await admin_conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_type = 'BASE TABLE' ORDER BY table_name",
        schema,
    )
    assert {"events", "data_keys", "case_members"} <= {t["table_name"] for t in tables}
    out = []
    for t in tables:
        rows = await admin_conn.fetch(f'SELECT t::text AS row FROM {schema}."{t["table_name"]}" t')
        out.extend(r["row"] for r in rows)
    return "\n".join(out).encode()


async def test_canary_nowhere_in_clear_and_erasure_leaves_it_unreadable(
    platform, unique, topic_prefix, token, admin_conn, app_pool, open_people_world
) -> None:
    buf = io.StringIO()
    configure_logging("test", "INFO", stream=buf, cache_loggers=False)
    try:
        async with (
            running_service(build_consent, "consent", platform, unique, topic_prefix) as (
                consent_client,
                _,
                consent,
            ),
            open_people_world(platform, unique, topic_prefix, token) as world,
        ):
            c, hub = world.client, world.runtime
            # The canary is there: the permitted reads show it (so a search would find it).
            url = f"/people/{HP}/contact?purpose=safety_check"
            r = await c.get(url, headers=world.as_("practitioner"))
            assert r.status_code == 200 and world.number in r.text
            r = await c.get(f"/people/{HP}", headers=world.as_("harmed person"))
            assert r.json()["details"]["name"] == world.canary
            # An anonymous enquiry whose way back is the canary number (sealed under the
            # enquiry's own key): the same search covers it, in the topic, tables and logs.
            enquiry = {"route": "self", "topics": ["support_services"],
                       "contact": {"channel": "phone", "address": world.number,
                                   "safe_times": f"ask for {world.canary}"}}  # fmt: skip
            r = await c.post("/enquiries", json=enquiry, headers=world.as_("practitioner"))
            assert r.status_code == 201 and world.number not in r.text, r.text

            # The topic: every event the hub stored, published, none with the canary.
            async with app_pool.acquire() as conn:
                stored = await conn.fetchval(f"SELECT count(*) FROM {hub.schema}.events")
            messages = await read_topic(
                platform.kafka_bootstrap, events_topic("hub", topic_prefix), expect=stored
            )
            assert len(messages) >= stored
            for m in messages:
                blob = (m.value or b"") + (m.key or b"") + b"".join(v for _, v in m.headers)
                assert found_in(blob, world) == [], dict(m.headers).get("ce_type")
            # The dead letters (none expected; whatever is there carries no canary).
            dead = await read_topic(
                platform.kafka_bootstrap, dlq_topic("hub", topic_prefix), expect=1, timeout=3
            )
            for m in dead:
                blob = (m.value or b"") + (m.key or b"") + b"".join(v for _, v in m.headers)
                assert found_in(blob, world) == []
            # Every table of the hub's schema.
            assert found_in(await every_table(admin_conn, hub.schema), world) == []

            # Erasure: the person asks the consent service; the hub applies it from the topic.
            r = await consent_client.post(
                f"/people/{HP}/erasure",
                json={"basis": "data_subject_request"},
                headers=world.as_("harmed person"),
            )
            assert r.status_code == 201, r.text

            async def erased() -> bool:
                r = await c.get(f"/people/{HP}", headers=world.as_("coordinator"))
                return r.status_code == 200 and r.json()["erased"]

            await wait_until(erased, timeout=60)
            r = await c.get(f"/people/{HP}", headers=world.as_("harmed person"))
            assert r.status_code == 200
            assert set(r.json()["details"].values()) == {None}
            r = await c.get(
                f"/people/{HP}/contact?purpose=arrange_session", headers=world.as_("practitioner")
            )
            assert r.status_code == 200, r.text
            shown = r.json()
            assert shown["erased"] is True
            (route,) = shown["routes"]
            assert (route["address"], route["safe_times"], route["who_knows"]) == (None,) * 3
            assert route["channel"] == "phone"  # a code, never personal: still there
            # The read of erased details is recorded all the same.
            log = await c.get(f"/people/{HP}/reads", headers=world.as_("auditor"))
            assert [x["purpose"] for x in log.json()["reads"]] == [
                "safety_check",
                "arrange_session",
            ]
            # Nothing in clear after it either, and the history still verifies: the hash
            # chains of both stores, and every event on both topics equal to the stored one.
            assert found_in(await every_table(admin_conn, hub.schema), world) == []
            report = await verify(
                app_pool,
                schemas={"consent": consent.schema, "hub": hub.schema},
                bootstrap=platform.kafka_bootstrap,
                topic_prefix=topic_prefix,
            )
            assert report.ok, report.lines()
            assert await hub.store.verify() == []
    finally:
        structlog.reset_defaults()
        for handler in list(std_logging.getLogger().handlers):
            std_logging.getLogger().removeHandler(handler)
    logged = buf.getvalue().encode()
    # The hub itself applied the erasure (its consumer of the consent topic), and said so
    # with counts only; nothing the services logged holds the canary.
    lines = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    assert any(
        line["event"] == "erasure.keys_destroyed" and line.get("schema") == hub.schema
        for line in lines
    )
    assert found_in(logged, world) == []
