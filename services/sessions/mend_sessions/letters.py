"""Reading letters and shuttle messages: which a caller sees, and their text opened.

The list carries ids and states; the text is opened only for one letter at a time, for its
author, its recipient once it was delivered, and the case's allocated practitioners (who review
it). A participant who is not the author sees a delivered letter only: never its drafts, why it
was returned, or what stopped another letter (R8)."""

from __future__ import annotations

from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.contracts.catalog.sessions import (
    LetterDeliveryStopped,
    LetterDrafted,
    LetterReturned,
    LetterRevised,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import NotFound
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.store import EventStore

from mend_sessions.domain.state import CaseState, Letter, LetterStatus

_TEXT = (LetterDrafted.event_type, LetterRevised.event_type)


def readers(letter: Letter) -> frozenset[str]:
    """The participants who may open a letter: its author, and its recipient once delivered."""
    if letter.status == LetterStatus.DELIVERED and letter.recipient_id is not None:
        return frozenset({letter.author_id, letter.recipient_id})
    return frozenset({letter.author_id})


def visible(identity: Identity, letter: Letter) -> bool:
    if identity.role not in PARTICIPANT_ROLES:
        return True  # the policy already decided the caller may read the case's letters
    return identity.person_id in readers(letter)


def _row(letter: Letter, identity: Identity, stops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "letter_id": letter.id,
        "session_id": letter.session_id,
        "author_id": letter.author_id,
        "recipient_id": letter.recipient_id,
        "reply_to": letter.reply_to,
        "status": str(letter.status),
    }
    staff = identity.role not in PARTICIPANT_ROLES
    if staff or identity.person_id == letter.author_id:
        row["drafts"] = letter.drafts
        row["returned_for"] = str(letter.returned_for) if letter.returned_for else None
    if staff and letter.id in stops:
        row["stopped"] = stops[letter.id]
    return row


def letter_rows(
    state: CaseState, identity: Identity, history: list[RecordedEvent]
) -> list[dict[str, Any]]:
    stops = {
        e.data["letter_id"]: {"cause": e.data["cause"], "cause_event_id": e.data["cause_event_id"]}
        for e in history
        if e.event_type == LetterDeliveryStopped.event_type
    }
    return [
        _row(letter, identity, stops)
        for letter in sorted(state.letters.values(), key=lambda x: x.id)
        if visible(identity, letter)
    ]


async def opened(
    store: EventStore, sealer: FieldSealer, state: CaseState, letter_id: str, identity: Identity
) -> dict[str, Any]:
    """One letter with its latest text (None once its author's key was erased); for its author
    and staff, the facilitator's note on its last return."""
    letter = state.letters.get(letter_id)
    if letter is None or not visible(identity, letter):
        raise NotFound("no such letter for you in this case", field="letter_id")
    history = await store.read_stream(state.case_id)
    mine = [e for e in history if e.data.get("letter_id") == letter_id]
    text = [e for e in mine if e.event_type in _TEXT]
    row = letter_rows(state, identity, history)
    doc = next(r for r in row if r["letter_id"] == letter_id)
    doc["content"] = (await sealer.open_recorded(text[-1], personal_owner="author_id"))["content"]
    returns = [e for e in mine if e.event_type == LetterReturned.event_type]
    if returns and "returned_for" in doc:
        note = await sealer.open_recorded(returns[-1], personal_owner="author_id")
        doc["return_note"] = note["note"]
    return doc
