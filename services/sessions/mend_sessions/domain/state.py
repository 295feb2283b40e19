"""The state of one case as the sessions service folds it, and `evolve`, the fold itself.

Kept apart from the decisions so that gates.py can read the state without importing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from mend_events.contracts.catalog.sessions import (
    AgreementReached,
    CaseClosed,
    CaseNoteRead,
    CaseNoteShared,
    CaseNoteWritten,
    CaseOpened,
    CasePaused,
    CaseResumed,
    FacilitatorChosen,
    InvitationRecorded,
    LetterApproved,
    LetterDelivered,
    LetterDeliveryStopped,
    LetterDrafted,
    LetterKeptUnsent,
    LetterReturned,
    LetterRevised,
    LetterSubmitted,
    Participant,
    ParticipantEnrolled,
    ParticipantRole,
    PauseReason,
    PreferencesSet,
    PreparationSessionHeld,
    ReferralOutcomeRecorded,
    ReferralRecorded,
    ResponsiblePersonOutcomeRecorded,
    ReturnReason,
    SessionCompleted,
    SessionHalted,
    SessionScheduled,
    SessionStarted,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent

from mend_sessions.domain.forms import ContactForm
from mend_sessions.domain.items import (
    MATERIAL_EVENTS,
    MEETING_EVENTS,
    Material,
    Meeting,
    MeetingStatus,
    evolve_material,
    evolve_meeting,
)

__all__ = ["Material", "Meeting", "MeetingStatus"]


class CaseStatus(StrEnum):
    NEW = "new"
    INVITED = "invited"  # someone referred; nothing obliges the harmed person to take it up
    OPEN = "open"
    CLOSED = "closed"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    HALTED = "halted"  # final: a halted session never resumes (R3)
    COMPLETED = "completed"


ACTIVE = frozenset({SessionStatus.SCHEDULED, SessionStatus.RUNNING})


class LetterStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the facilitator's review
    RETURNED = "returned"  # back with the author, with a reason
    APPROVED = "approved"
    DELIVERED = "delivered"  # final
    KEPT_UNSENT = "kept_unsent"  # final: the author's unsent-letter decision
    STOPPED = "stopped"  # final: its session was halted before delivery


UNDELIVERED = frozenset(
    {LetterStatus.DRAFT, LetterStatus.SUBMITTED, LetterStatus.RETURNED, LetterStatus.APPROVED}
)


@dataclass(frozen=True, slots=True)
class Letter:
    """A letter or message: ids and states only (its text is sealed in its events)."""

    id: str
    session_id: str
    author_id: str
    recipient_id: str | None
    reply_to: str | None = None
    status: LetterStatus = LetterStatus.DRAFT
    returned_for: ReturnReason | None = None
    drafts: int = 1

    @property
    def pending(self) -> bool:
        return self.status in UNDELIVERED


@dataclass(frozen=True, slots=True)
class Preferences:
    """The harmed person's preferences. Until they say otherwise the responsible person takes no
    part: involving them is the harmed person's decision to make, not a default (R6)."""

    min_gap_days: int = 0
    permitted_forms: frozenset[ContactForm] = frozenset(ContactForm)
    speaks_first: str | None = None  # None: the harmed person speaks first
    responsible_person_takes_part: bool = False
    invited: frozenset[str] = frozenset()
    progress_updates: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    form: ContactForm
    participants: tuple[Participant, ...]
    facilitator_id: str
    team: tuple[str, ...]
    scheduled_for: datetime
    speaks_first: str
    status: SessionStatus = SessionStatus.SCHEDULED
    started_at: datetime | None = None
    ended_at: datetime | None = None  # set only for a session that started (contact happened)

    @property
    def participant_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.participants)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class Note:
    """A practitioner's note: ids and codes (its text is sealed in its event)."""

    id: str
    kind: str
    key_owner: str
    about_id: str | None
    attachment: str | None  # the digest
    shared_with: frozenset[str] = frozenset()
    reads: int = 0


@dataclass(frozen=True, slots=True)
class CaseState:
    case_id: str
    status: CaseStatus = CaseStatus.NEW
    opened: CaseOpened | None = None
    invited: frozenset[str] = frozenset()  # harmed person ids an invitation was recorded for
    invited_in: str | None = None  # the agency of the first invitation (before an opening)
    facilitator_id: str | None = None
    preferences: Preferences = Preferences()
    paused_for: frozenset[PauseReason] = frozenset()
    prepared: frozenset[str] = frozenset()  # participants a preparation session was held with
    responsible_person_id: str | None = None  # learnt from the first preparation or session
    # Who takes part, in what role: the harmed person from the opening, everyone else only
    # by their enrolment (ParticipantEnrolled). Every service decides access on this.
    members: Mapping[str, ParticipantRole] = field(default_factory=dict)
    sessions: Mapping[str, Session] = field(default_factory=dict)
    agreements: Mapping[str, AgreementReached] = field(default_factory=dict)
    letters: Mapping[str, Letter] = field(default_factory=dict)
    notes: Mapping[str, Note] = field(default_factory=dict)
    meetings: Mapping[str, Meeting] = field(default_factory=dict)
    materials: Mapping[str, Material] = field(default_factory=dict)
    # referral id -> (the referral, its outcome if recorded)
    referrals: Mapping[str, tuple[ReferralRecorded, str | None]] = field(default_factory=dict)
    # The responsible person declined or was not reachable: no session with them from now on.
    rp_outcome: ResponsiblePersonOutcomeRecorded | None = None
    # Causes (withdrawal / risk event ids) already acted on: a redelivery halts nothing twice.
    handled_causes: frozenset[UUID] = frozenset()

    @property
    def harmed_person_id(self) -> str | None:
        return self.opened.harmed_person_id if self.opened else None

    @property
    def paused(self) -> bool:
        return bool(self.paused_for)

    def role_of(self, person_id: str) -> ParticipantRole | None:
        """The role this case already knows the person in, if they are one of the two parties."""
        if person_id == self.harmed_person_id:
            return ParticipantRole.HARMED_PERSON
        if person_id == self.responsible_person_id:
            return ParticipantRole.RESPONSIBLE_PERSON
        return None


def initial(stream_id: str) -> CaseState:
    return CaseState(case_id=stream_id)


# --- evolve ---------------------------------------------------------------------------------


def preferences_of(event: PreferencesSet) -> Preferences:
    return Preferences(
        min_gap_days=event.min_gap_days,
        permitted_forms=frozenset(event.permitted_forms),
        speaks_first=event.speaks_first,
        responsible_person_takes_part=event.responsible_person_takes_part,
        invited=frozenset(event.invited),
        progress_updates=event.progress_updates,
    )


def session_from(event: SessionScheduled) -> Session:
    return Session(
        id=event.session_id,
        form=event.form,
        participants=event.participants,
        facilitator_id=event.facilitator_id,
        team=event.team,
        scheduled_for=event.scheduled_for,
        speaks_first=event.speaks_first,
    )


def _learn_responsible(state: CaseState, participants: tuple[Participant, ...]) -> str | None:
    if state.responsible_person_id is not None:
        return state.responsible_person_id
    return next((p.id for p in participants if p.role == ParticipantRole.RESPONSIBLE_PERSON), None)


def _with_session(state: CaseState, session: Session) -> CaseState:
    return replace(state, sessions={**state.sessions, session.id: session})


_LETTER_STATUS = {
    LetterSubmitted: LetterStatus.SUBMITTED,
    LetterApproved: LetterStatus.APPROVED,
    LetterDelivered: LetterStatus.DELIVERED,
    LetterKeptUnsent: LetterStatus.KEPT_UNSENT,
    LetterDeliveryStopped: LetterStatus.STOPPED,
}


def _evolve_letter(state: CaseState, event: DomainEvent) -> CaseState:
    if isinstance(event, LetterDrafted):
        if event.letter_id in state.letters:
            return state
        letter = Letter(
            event.letter_id, event.session_id, event.author_id, event.recipient_id, event.reply_to
        )
    else:
        found = state.letters.get(getattr(event, "letter_id", ""))
        if found is None:
            return state
        if isinstance(event, LetterRevised):
            letter = replace(found, status=LetterStatus.DRAFT, drafts=found.drafts + 1)
        elif isinstance(event, LetterReturned):
            letter = replace(found, status=LetterStatus.RETURNED, returned_for=event.reason)
        else:
            letter = replace(found, status=_LETTER_STATUS[type(event)])
    return replace(state, letters={**state.letters, letter.id: letter})


def _evolve_note(state: CaseState, event: DomainEvent) -> CaseState:
    if isinstance(event, CaseNoteWritten):
        if event.note_id in state.notes:
            return state
        note = Note(event.note_id, str(event.kind), event.key_owner, event.about_id,
                    event.attachment_digest)  # fmt: skip
    else:
        found = state.notes.get(getattr(event, "note_id", ""))
        if found is None:
            return state
        if isinstance(event, CaseNoteShared):
            note = replace(found, shared_with=found.shared_with | {event.with_id})
        else:
            note = replace(found, reads=found.reads + 1)
    return replace(state, notes={**state.notes, note.id: note})


_LETTER_EVENTS = (LetterDrafted, LetterRevised, LetterReturned, *_LETTER_STATUS)


def evolve(state: CaseState, event: DomainEvent, meta: Metadata) -> CaseState:
    """Never raises for a stored event: an event about an unknown session changes nothing."""
    at = meta.occurred_at
    if isinstance(event, _LETTER_EVENTS):
        return _evolve_letter(state, event)
    if isinstance(event, CaseNoteWritten | CaseNoteShared | CaseNoteRead):
        return _evolve_note(state, event)
    if isinstance(event, MEETING_EVENTS):
        return evolve_meeting(state, event)
    if isinstance(event, MATERIAL_EVENTS):
        return evolve_material(state, event)
    match event:
        case CaseOpened():
            members = {event.harmed_person_id: ParticipantRole.HARMED_PERSON, **state.members}
            return replace(state, status=CaseStatus.OPEN, opened=event, members=members)
        case ParticipantEnrolled():
            if event.person_id in state.members:
                return state  # a person keeps the role they were first enrolled in
            return replace(state, members={**state.members, event.person_id: event.role})
        case ReferralRecorded():
            if event.referral_id in state.referrals:
                return state
            status = CaseStatus.INVITED if state.status == CaseStatus.NEW else state.status
            return replace(
                state,
                status=status,
                invited=state.invited | {event.harmed_person_id},
                invited_in=state.invited_in or meta.agency,
                referrals={**state.referrals, event.referral_id: (event, None)},
            )
        case ReferralOutcomeRecorded():
            found = state.referrals.get(event.referral_id)
            if found is None:
                return state
            entry = (found[0], str(event.outcome))
            return replace(state, referrals={**state.referrals, event.referral_id: entry})
        case ResponsiblePersonOutcomeRecorded():
            return replace(state, rp_outcome=event)
        case InvitationRecorded():
            status = CaseStatus.INVITED if state.status == CaseStatus.NEW else state.status
            return replace(
                state,
                status=status,
                invited=state.invited | {event.harmed_person_id},
                invited_in=state.invited_in or meta.agency,
            )
        case FacilitatorChosen():
            return replace(state, facilitator_id=event.practitioner_id)
        case PreferencesSet():
            return replace(state, preferences=preferences_of(event))
        case CasePaused():
            return replace(state, paused_for=state.paused_for | {event.reason})
        case CaseResumed():
            return replace(state, paused_for=frozenset())
        case PreparationSessionHeld():
            return replace(
                state,
                prepared=state.prepared | {event.participant.id},
                responsible_person_id=_learn_responsible(state, (event.participant,)),
            )
        case SessionScheduled():
            learnt = _learn_responsible(state, event.participants)
            return _with_session(replace(state, responsible_person_id=learnt), session_from(event))
        case AgreementReached():
            return replace(state, agreements={**state.agreements, event.session_id: event})
        case CaseClosed():
            return replace(state, status=CaseStatus.CLOSED)
        case SessionHalted():
            causes = state.handled_causes
            if event.cause_event_id is not None:
                causes = causes | {event.cause_event_id}
            state = replace(state, handled_causes=causes)
    # The session events: each changes the one session it names.
    session = state.sessions.get(getattr(event, "session_id", ""))
    if session is None:
        return state
    match event:
        case SessionStarted():
            return _with_session(
                state, replace(session, status=SessionStatus.RUNNING, started_at=at)
            )
        case SessionHalted():
            # Only contact that actually began counts as a session for the minimum gap.
            ended = at if session.status == SessionStatus.RUNNING else session.ended_at
            return _with_session(
                state, replace(session, status=SessionStatus.HALTED, ended_at=ended)
            )
        case SessionCompleted():
            return _with_session(
                state, replace(session, status=SessionStatus.COMPLETED, ended_at=at)
            )
    return state
