"""Case notes through decide: only a practitioner writes or shares one; a note about a person
is sealed under their key, one about the case under the case's; a participant opens only what
was shared with them; every opening is recorded, never deduplicated."""

from __future__ import annotations

import pytest
from mend_events.contracts.catalog import sessions as ev
from mend_events.contracts.catalog.sessions import ParticipantRole as R
from mend_events.errors import Forbidden, NotFound, Rejected
from mend_sessions import commands as c

RP = "rp-0001"


def opened(case) -> None:
    case.do(case.hp, c.OpenCase(harm_category="rape", justice_stage="none", route="self_referral"))
    case.do(case.hp, c.SetPreferences(responsible_person_takes_part=True, invited=(RP,)))
    case.do(case.fac, c.EnrolParticipant(person_id=RP, role=R.RESPONSIBLE_PERSON))


def note(note_id="note-0001", about=None, **found) -> c.NoteWithAttachment:
    body = c.WriteNote(note_id=note_id, kind="preparation", about_id=about, text="Canary text")
    return c.NoteWithAttachment(note=body, **found)


def test_a_practitioner_writes_a_note_sealed_under_the_case_or_the_person(case):
    opened(case)
    for someone in (case.hp, case.rp, case.coord, case.auditor):
        with pytest.raises(Forbidden):
            case.do(someone, note())
    [event] = case.do(case.fac, note())
    assert event.key_owner == case.state.case_id and event.text == "Canary text"
    [about] = case.do(case.fac, note("note-0002", about=RP, digest="a" * 64,
                                     media_type="image/png", size=10))  # fmt: skip
    assert about.key_owner == RP and about.attachment_digest == "a" * 64
    with pytest.raises(Rejected):
        case.do(case.fac, note("note-0001"))  # the id is taken
    with pytest.raises(Rejected):
        case.do(case.fac, note("note-0003", about="hp-9999"))  # not of this case


def test_a_participant_opens_only_a_note_shared_with_them_and_every_read_is_recorded(case):
    opened(case)
    case.do(case.fac, note())
    read = c.RecordNoteRead(note_id="note-0001")
    with pytest.raises(Forbidden):
        case.do(case.rp, read)
    assert case.do(case.fac, c.ShareNote(note_id="note-0001", with_id=RP)) == [
        ev.CaseNoteShared(note_id="note-0001", with_id=RP)]  # fmt: skip
    assert case.do(case.fac, c.ShareNote(note_id="note-0001", with_id=RP)) == []
    for reader in (case.fac, case.rp, case.rp):
        assert case.do(reader, read) == [ev.CaseNoteRead(note_id="note-0001")]
    assert case.state.notes["note-0001"].reads == 3
    with pytest.raises(Forbidden):
        case.do(case.hp, read)  # not shared with her
    with pytest.raises(NotFound):
        case.do(case.fac, c.RecordNoteRead(note_id="note-0001", attachment=True))
    with pytest.raises(Rejected):
        case.do(case.fac, c.ShareNote(note_id="note-0001", with_id="sup-9999"))
    assert case.replayed() == case.state
