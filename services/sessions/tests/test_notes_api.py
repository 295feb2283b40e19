"""Case notes through the sessions service's API on the real database (and broker, under the
runtime): a practitioner's notes and an attachment, sealed; a participant opens only a note
shared with them; the auditor lists but never opens; every opening recorded; a bad attachment
refused naming its field; the canary text and bytes nowhere in clear in the service's tables;
after erasure neither the text nor the attachment opens."""

from __future__ import annotations

import base64

import pytest
from mend_sessions.app import build
from mend_testkit.directory import allocate
from mend_testkit.fixtures import running_service

CASE, HP, RP, FAC = "case-notes001", "hp-notes001", "rp-notes001", "prac-notes01"
PNG = b"\x89PNG\r\n\x1a\n" + b"Canary-Attachment-5e1f: a drawing of the house" + b"\x00" * 16


@pytest.fixture
async def sessions(platform, unique, topic_prefix):
    async with running_service(build, "sessions", platform, unique, topic_prefix) as running:
        yield running


async def test_notes_sealed_shared_recorded_and_unreadable_after_erasure(sessions, token, unique):
    client, _, runtime = sessions
    hp, rp = token("harmed_person", HP), token("responsible_person", RP)
    fac, auditor = token("practitioner", FAC), token("auditor", "aud-notes01")
    canary = f"Canary-Note-{unique}: she said the name Marguerite Oakhollow"
    opening = {"harm_category": "sexual_assault", "justice_stage": "none", "route": "self_referral"}
    assert (await client.post(f"/cases/{CASE}/open", json=opening, headers=hp)).status_code == 201
    await allocate(runtime, CASE, FAC)
    prefs = {"responsible_person_takes_part": True, "invited": [RP]}
    assert (await client.post(f"/cases/{CASE}/preferences", json=prefs, headers=hp)).is_success
    enrol = {"person_id": RP, "role": "responsible_person"}
    r = await client.post(f"/cases/{CASE}/participants", json=enrol, headers=fac)
    assert r.status_code == 201, r.text

    attachment = {"media_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}
    first = {"note_id": "note-0001", "kind": "preparation", "text": canary,
             "attachment": attachment}  # fmt: skip
    r = await client.post(f"/cases/{CASE}/notes", json=first, headers=fac)
    assert r.status_code == 201, r.text
    about = {"note_id": "note-0002", "kind": "assessment", "about_id": RP, "text": canary}
    assert (await client.post(f"/cases/{CASE}/notes", json=about, headers=fac)).status_code == 201
    for bad, field in (
        ({**attachment, "media_type": "application/pdf"}, "attachment"),  # not what it says
        ({**attachment, "content_base64": "A" * 60_000}, "attachment.content_base64"),  # too big
    ):
        body = {**first, "note_id": "note-0009", "attachment": bad}
        r = await client.post(f"/cases/{CASE}/notes", json=body, headers=fac)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
        assert "Canary" not in r.text
    assert (await client.post(f"/cases/{CASE}/notes", json=about, headers=hp)).status_code == 403

    # The team opens it; a participant only once shared; the auditor lists, never opens.
    got = (await client.get(f"/cases/{CASE}/notes/note-0001", headers=fac)).json()
    assert got["text"] == canary and got["attachment"] == {"type": "image/png", "size": len(PNG)}
    r = await client.get(f"/cases/{CASE}/notes/note-0001/attachment", headers=fac)
    assert r.status_code == 200 and r.content == PNG and r.headers["cache-control"] == "no-store"
    assert (await client.get(f"/cases/{CASE}/notes/note-0001", headers=rp)).status_code == 403
    listed = (await client.get(f"/cases/{CASE}/notes", headers=auditor)).json()["notes"]
    assert [n["note_id"] for n in listed] == ["note-0001", "note-0002"]
    assert (await client.get(f"/cases/{CASE}/notes/note-0001", headers=auditor)).status_code == 403
    assert (await client.get(f"/cases/{CASE}/notes", headers=rp)).json()["notes"] == []
    share = {"with_id": RP}
    r = await client.post(f"/cases/{CASE}/notes/note-0001/share", json=share, headers=fac)
    assert r.status_code == 201, r.text
    assert (await client.get(f"/cases/{CASE}/notes/note-0001", headers=rp)).json()["text"] == canary
    assert [n["note_id"] for n in
            (await client.get(f"/cases/{CASE}/notes", headers=rp)).json()["notes"]] == [
        "note-0001"]  # fmt: skip

    # Every opening recorded, by whom: the practitioner twice (text, attachment), him once.
    reads = [e for e in await runtime.store.read_stream(CASE) if e.event_type == "CaseNoteRead"]
    assert [(e.metadata.actor_id, e.data["attachment"]) for e in reads] == [
        (FAC, False), (FAC, True), (RP, False)]  # fmt: skip

    # The canary: nowhere in clear in the service's tables (events, attachments, case view).
    await runtime.settle()
    schema = runtime.store.schema
    async with runtime.pool.acquire() as conn:
        tables = [
            r["table_name"]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
            )
        ]
        dumped = [await conn.fetchval(
            f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {schema}.{table} t")
            for table in tables]  # fmt: skip
    encoded = base64.b64encode(PNG).decode()
    for text in dumped:
        for needle in ("Marguerite", "Oakhollow", "Canary-Attachment", encoded[:40]):
            assert needle not in text, needle

    # Erasure: the person's key, then the case's: nothing of either note opens.
    sealer = runtime.sealer
    await sealer.shred(RP)
    assert (await client.get(f"/cases/{CASE}/notes/note-0002", headers=fac)).json()["text"] is None
    await sealer.shred(CASE)
    assert (await client.get(f"/cases/{CASE}/notes/note-0001", headers=fac)).json()["text"] is None
    r = await client.get(f"/cases/{CASE}/notes/note-0001/attachment", headers=fac)
    assert r.status_code == 404, r.text
