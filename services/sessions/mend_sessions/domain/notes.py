"""Practitioners' case notes: written by a practitioner (the allocated team: the policy), sealed
under the case's key or the person's it is about, shared with a participant only by a
practitioner's decision, and every opening recorded."""

from __future__ import annotations

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.sessions import CaseNoteRead, CaseNoteShared, CaseNoteWritten
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.guards import practitioner_only, require_open
from mend_sessions.domain.state import CaseState, Note


def find_note(state: CaseState, note_id: str) -> Note:
    note = state.notes.get(note_id)
    if note is None:
        raise NotFound(f"no note {note_id} in this case", field="note_id")
    return note


def write(state: CaseState, cmd: c.NoteWithAttachment, ctx: CommandContext) -> list[DomainEvent]:
    require_open(state)
    practitioner_only(ctx, "write a case note")
    note = cmd.note
    if note.note_id in state.notes:
        raise Rejected("this note id is already used: write with a new id", field="note_id")
    if note.about_id is not None and note.about_id not in state.members:
        raise Rejected("a note is about a participant of this case", field="about_id")
    return [
        CaseNoteWritten(
            note_id=note.note_id, kind=note.kind, key_owner=note.about_id or state.case_id,
            about_id=note.about_id, attachment_digest=cmd.digest,
            attachment_type=cmd.media_type, attachment_size=cmd.size, text=note.text,
        )
    ]  # fmt: skip


def share(state: CaseState, cmd: c.ShareNote, ctx: CommandContext) -> list[DomainEvent]:
    practitioner_only(ctx, "share a case note")
    note = find_note(state, cmd.note_id)
    if state.members.get(cmd.with_id) is None:
        raise Rejected("a note is shared with a participant of this case", field="with_id")
    if cmd.with_id in note.shared_with:
        return []
    return [CaseNoteShared(note_id=note.id, with_id=cmd.with_id)]


def read(state: CaseState, cmd: c.RecordNoteRead, ctx: CommandContext) -> list[DomainEvent]:
    """Recorded before anything is shown, every time (never deduplicated)."""
    note = find_note(state, cmd.note_id)
    actor = ctx.actor
    shared = actor.role in PARTICIPANT_ROLES and actor.id in note.shared_with
    if actor.role != Role.PRACTITIONER and not shared:
        raise Forbidden("this note is not shared with you")
    if cmd.attachment and note.attachment is None:
        raise NotFound("this note has no attachment", field="note_id")
    return [CaseNoteRead(note_id=note.id, attachment=cmd.attachment)]
