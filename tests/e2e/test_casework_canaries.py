"""Letters, notes and attachments in clear nowhere but in a permitted read: canary text in a
letter, its return note and a case note, and canary bytes in an attachment, written through the
sessions service beside the real consent service and a risk relay, are searched for in the
sessions service's topic, its dead letters, every log line, and every table of the consent and
sessions schemas. After erasure of the author's and the case's keys, none of them opens.
(The reminders' address: services/hub/tests/test_notify.py.)"""

from __future__ import annotations

import base64
import io
import logging as std_logging

import structlog
from bus_helpers import read_topic
from mend_events.app.logging import configure_logging
from mend_events.app.settings import dlq_topic, events_topic

from tests.e2e.test_halts import (  # noqa: F401 - the fixtures this module uses
    HP,
    Platform,
    consent,
    risk,
    sessions,
    sessions_schema,
    world,
)
from tests.e2e.test_letters import CASE, ready_letter_exchange, write

LETTER_TEXT = "Canary-Casework-61c0 Ottoline Brackenridge wrote this letter"
NOTE_TEXT = "Canary-Casework-61c0 Ottoline Brackenridge said this in preparation"
RETURN_NOTE = "Canary-Casework-61c0 leave out Brackenridge Lane"
PNG = b"\x89PNG\r\n\x1a\n" + b"Canary-Casework-61c0 Brackenridge drawing"
NEEDLES = [b"Canary-Casework-61c0", b"Brackenridge", b"Ottoline",
           base64.b64encode(PNG)[:40], PNG[8:40].hex().encode()]  # fmt: skip


def found_in(blob: bytes) -> list[bytes]:
    return [n for n in NEEDLES if n in blob]


async def every_table(admin_conn, schema: str) -> bytes:
    tables = await admin_conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_type = 'BASE TABLE'", schema)  # fmt: skip
    rows = []
    for t in tables:
        found = await admin_conn.fetch(f'SELECT t::text AS row FROM {schema}."{t["table_name"]}" t')
        rows += [r["row"] for r in found]
    return "\n".join(rows).encode()


async def test_letters_notes_and_attachments_are_in_clear_nowhere(
    world,  # noqa: F811 - the fixture imported above
    platform, topic_prefix, admin_conn,
):  # fmt: skip
    buf = io.StringIO()
    configure_logging("test", "INFO", stream=buf, cache_loggers=False)
    try:
        w, s = world, world.sessions[0]
        await ready_letter_exchange(w)
        await write(w, "letter-0001", LETTER_TEXT, w.hp())
        body = {"reason": "identifying_details", "note": RETURN_NOTE}
        await w.ok(s, f"/cases/{CASE}/letters/letter-0001/return", body, w.fac())
        note = {"note_id": "note-0001", "kind": "preparation", "about_id": HP, "text": NOTE_TEXT,
                "attachment": {"media_type": "image/png",
                               "content_base64": base64.b64encode(PNG).decode()}}  # fmt: skip
        await w.ok(s, f"/cases/{CASE}/notes", note, w.fac())
        # The permitted reads show them (so the searches below would find them).
        got = (await s.get(f"/cases/{CASE}/letters/letter-0001", headers=w.hp())).json()
        assert got["content"] == LETTER_TEXT and got["return_note"] == RETURN_NOTE
        got = (await s.get(f"/cases/{CASE}/notes/note-0001", headers=w.fac())).json()
        assert got["text"] == NOTE_TEXT
        r = await s.get(f"/cases/{CASE}/notes/note-0001/attachment", headers=w.fac())
        assert r.content == PNG

        runtime = w.sessions[2]
        stored = len(await runtime.store.read_stream(CASE))
        messages = await read_topic(
            platform.kafka_bootstrap, events_topic("sessions", topic_prefix), expect=stored
        )
        assert len(messages) >= stored
        for m in messages:
            blob = (m.value or b"") + (m.key or b"") + b"".join(v for _, v in m.headers)
            assert found_in(blob) == [], dict(m.headers).get("ce_type")
        dead = await read_topic(platform.kafka_bootstrap, dlq_topic("sessions", topic_prefix),
                                expect=1, timeout=3)  # fmt: skip
        assert all(found_in((m.value or b"") + (m.key or b"")) == [] for m in dead)
        for schema in (runtime.schema, w.consent[2].schema):
            assert found_in(await every_table(admin_conn, schema)) == [], schema

        # Erasure: the author's key and the person the note is about (her), and the case's.
        await runtime.sealer.shred(HP)
        got = (await s.get(f"/cases/{CASE}/letters/letter-0001", headers=w.fac())).json()
        assert got["content"] is None and got.get("return_note") is None
        assert (await s.get(f"/cases/{CASE}/notes/note-0001", headers=w.fac())).json()[
            "text"] is None  # fmt: skip
        r = await s.get(f"/cases/{CASE}/notes/note-0001/attachment", headers=w.fac())
        assert r.status_code == 404
    finally:
        structlog.reset_defaults()
        for handler in list(std_logging.getLogger().handlers):
            std_logging.getLogger().removeHandler(handler)
    assert buf.getvalue().count("\n") > 10  # the services did log (to this buffer)
    assert found_in(buf.getvalue().encode()) == []
