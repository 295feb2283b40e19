"""Reading meetings and the harmed person's materials: which a caller sees, with what opened.

A meeting shows its time (the UTC instant and the zone it was arranged in), channel kind, the
plan's arrangements and who said they can attend, to the people it is for and the case's staff;
its place (or how to join) is opened for them only, never for an auditor; the arrangements'
note only for staff and, in a preparation meeting, the person prepared (a contact meeting's
note may speak of the harmed person's safety, which the responsible person never learns, R8).
A cancellation reads to a participant as a halt does (`participant_halt`). A volunteer allocated
as a support person (issue 21) sees only the meetings whose plan asks for a support person, and
of those only when, how and the arrangements (`_support_row`). An item of the
harmed person's materials is listed to her, and to staff only while she shares it; its text is
opened one item at a time after the read is recorded (the service)."""

from __future__ import annotations

from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.sessions import (
    MaterialRevised,
    MaterialWritten,
    MeetingArranged,
    MeetingCancelled,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.security.crypto import FieldSealer
from mend_events.security.disclosure import participant_halt
from mend_events.security.identity import Identity
from mend_events.store import EventStore

from mend_sessions.domain.state import CaseState, Material, Meeting

_STAFF_PLACES = frozenset({"practitioner"})  # who of the staff opens places: not the auditor


def meeting_visible(identity: Identity, meeting: Meeting) -> bool:
    if identity.role not in PARTICIPANT_ROLES:
        return True  # the policy already decided the caller may list the case's meetings
    return identity.person_id in meeting.people


async def meeting_rows(
    store: EventStore, sealer: FieldSealer | None, state: CaseState, identity: Identity
) -> list[dict[str, Any]]:
    history = await store.read_stream(state.case_id)
    arranged = {e.data["meeting_id"]: e for e in history
                if e.event_type == MeetingArranged.event_type}  # fmt: skip
    cancels = {e.data["meeting_id"]: e for e in history
               if e.event_type == MeetingCancelled.event_type}  # fmt: skip
    rows = []
    for m in sorted(state.meetings.values(), key=lambda m: (m.arranged.at, m.id)):
        if identity.role == Role.VOLUNTEER:
            # Only the meetings a support person is asked to (the plan's arrangements).
            if m.arranged.arrangements.support_person_present:
                rows.append(_support_row(m))
        elif meeting_visible(identity, m):
            rows.append(await _row(sealer, m, identity, arranged[m.id], cancels.get(m.id)))
    return rows


def _support_row(m: Meeting) -> dict[str, Any]:
    """What a volunteer supporting the case's people sees of a meeting (issue 21): when, how
    (channel kind) and the plan's arrangements, and whether it stands. Not its place, its note,
    who it is for or answered, nor why it was called off: a cancellation may name a withdrawal
    or a risk, which are not a volunteer's to know."""
    a = m.arranged
    return {
        "meeting_id": m.id, "purpose": str(a.purpose), "at": a.at.isoformat(),
        "timezone": a.timezone, "channel": str(a.channel),
        "arrangements": a.arrangements.model_dump(), "status": str(m.status),
    }  # fmt: skip


async def _row(
    sealer: FieldSealer | None, m: Meeting, identity: Identity, arranged: RecordedEvent,
    cancel: RecordedEvent | None,
) -> dict[str, Any]:  # fmt: skip
    a = m.arranged
    row: dict[str, Any] = {
        "meeting_id": m.id, "purpose": str(a.purpose), "session_id": a.session_id,
        "attendees": [{"id": p.id, "role": str(p.role)} for p in a.attendees],
        "facilitator_id": a.facilitator_id, "at": a.at.isoformat(), "timezone": a.timezone,
        "channel": str(a.channel), "arrangements": a.arrangements.model_dump(),
        "status": str(m.status), "availability": dict(sorted(m.availability.items())),
    }  # fmt: skip
    participant = identity.role in PARTICIPANT_ROLES
    if sealer is not None and (participant or str(identity.role) in _STAFF_PLACES):
        opened = await sealer.open_recorded(arranged, personal_owner="key_owner")
        row["place"] = opened.get("place")
        if not participant or identity.person_id == a.key_owner:
            row["arrangements_note"] = opened.get("arrangements_note")
    if cancel is not None:
        halt = {"at": cancel.metadata.occurred_at.isoformat(), "cause": cancel.data["cause"],
                "halted_by_id": cancel.data["cancelled_by_id"],
                "cause_event_id": cancel.data["cause_event_id"]}  # fmt: skip
        row["cancellation"] = participant_halt(halt, identity.person_id) if participant else halt
    return row


# --- the harmed person's materials -----------------------------------------------------------


def material_visible(identity: Identity, item: Material) -> bool:
    if identity.role in PARTICIPANT_ROLES:
        return identity.person_id == item.owner_id
    return item.shared  # staff: only what she shares, never her drafts


def material_rows(state: CaseState, identity: Identity) -> list[dict[str, Any]]:
    rows = []
    for item in sorted(state.materials.values(), key=lambda x: x.id):
        if not material_visible(identity, item):
            continue
        letter = state.letters.get(item.letter_id or "")
        rows.append({
            "item_id": item.id, "kind": item.kind, "shared": item.shared,
            "letter_id": item.letter_id, "letter_status": str(letter.status) if letter else None,
            "versions": item.versions, "reads": item.reads,
        })  # fmt: skip
    return rows


async def material_text(
    store: EventStore, sealer: FieldSealer, state: CaseState, item_id: str
) -> str | None:
    """The item's latest text under its owner's key (None once erased, or no such item)."""
    texts = [e for e in await store.read_stream(state.case_id)
             if e.event_type in (MaterialWritten.event_type, MaterialRevised.event_type)
             and e.data.get("item_id") == item_id]  # fmt: skip
    if not texts:
        return None
    return (await sealer.open_recorded(texts[-1], personal_owner="owner_id"))["content"]
