"""The aftercare state of one case, and `evolve`: the fold over the case's aftercare stream.

State is frozen; maps are read-only views rebuilt on each change, so a state handed to a
projection or a report can never be altered behind the stream's back. `evolve` never raises for
a stored event: an event about something unknown (which the decisions below never emit) is
folded as well as it can be rather than breaking a replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID

from mend_events.contracts.catalog.aftercare import (
    AftercareAccepted,
    AftercareClosed,
    AftercareDeclined,
    AftercareOffered,
    CheckInCompleted,
    CheckInMissed,
    CheckInScheduled,
    ClosureReason,
    CommitmentCode,
    CommitmentCompleted,
    CommitmentNotCompleted,
    CommitmentProgressed,
    CommitmentRecorded,
    CommitmentStatus,
    DesistancePlanAccepted,
    DesistancePlanEnded,
    InstrumentAnswered,
    MeasurePoint,
    OfferCause,
    OutcomeMeasure,
    OutcomeMeasureRecorded,
    PlanRole,
    ProgressCode,
    ProgressUpdatePreferenceSet,
    ProgressUpdateShared,
    ReferralKind,
    ReferralMade,
    SupportPlanOpened,
    SupportSubject,
    UpdateLevel,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent

K = TypeVar("K")
V = TypeVar("V")


def _frozen(items: Mapping[K, V] | None = None) -> Mapping[K, V]:
    return MappingProxyType(dict(items or {}))


def _with(items: Mapping[K, V], key: K, value: V) -> Mapping[K, V]:
    return MappingProxyType({**items, key: value})


class AftercareStatus(StrEnum):
    NOT_OFFERED = "not_offered"
    OFFERED = "offered"  # an offer awaits the harmed person's answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CLOSED = "closed"


class Answer(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CheckInOutcome(StrEnum):
    COMPLETED = "completed"
    MISSED = "missed"
    # Still open when its plan ended or aftercare closed: it will not take place, and must never
    # count as missed (a missed check-in is a risk signal; leaving a voluntary plan is not).
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CheckIn:
    participant_id: str
    role: PlanRole
    due_at: datetime | None
    outcome: CheckInOutcome | None = None


@dataclass(frozen=True, slots=True)
class Referral:
    participant_id: str
    role: PlanRole
    kind: ReferralKind
    owner_id: str
    due_on: date


@dataclass(frozen=True, slots=True)
class Commitment:
    owner_id: str
    code: CommitmentCode
    due_on: date | None
    status: CommitmentStatus | None = None  # None: recorded, nothing reported yet
    progress: ProgressCode | None = None
    revision: int = 0  # number of status changes so far
    shared_revision: int = 0  # the last revision told to the harmed person

    @property
    def finished(self) -> bool:
        return self.status in (CommitmentStatus.COMPLETED, CommitmentStatus.NOT_COMPLETED)


@dataclass(frozen=True, slots=True)
class AftercareState:
    case_id: str
    # Fixed by the first event naming them; every "harmed person only" rule checks against it.
    harmed_person_id: str | None = None
    status: AftercareStatus = AftercareStatus.NOT_OFFERED
    last_answer: Answer | None = None  # survives closure, for the commissioners' report
    # The last closure's reason, kept after a reopening so a later offer can name it.
    closure_reason: ClosureReason | None = None
    offers: Mapping[UUID, OfferCause] = field(default_factory=_frozen)  # by cause event id
    # The cause chains already offered for (one offer a chain): the event that began each ->
    # the cause event whose offer answered it.
    offer_chains: Mapping[UUID, UUID] = field(default_factory=_frozen)
    desistance_plans: frozenset[str] = frozenset()  # responsible persons with an open plan
    check_ins: Mapping[UUID, CheckIn] = field(default_factory=_frozen)
    referrals: Mapping[UUID, Referral] = field(default_factory=_frozen)
    commitments: Mapping[UUID, Commitment] = field(default_factory=_frozen)
    update_level: UpdateLevel = UpdateLevel.NONE  # nothing is shared unless they chose more
    outcomes: Mapping[tuple[OutcomeMeasure, MeasurePoint], int] = field(default_factory=_frozen)
    # Instrument answers by (instrument ref, point, about whom): answered once, never changed.
    instrument_answers: Mapping[tuple[str, str, str], Mapping[str, int | str]] = field(
        default_factory=_frozen
    )
    # A support plan (stream `support:<agency>:<subject>`, no case): whom it supports, and
    # whether that is a registered person or an enquiry's reference. None on a case's stream.
    supported_id: str | None = None
    support: SupportSubject | None = None

    @property
    def closed(self) -> bool:
        return self.status is AftercareStatus.CLOSED


def initial(case_id: str) -> AftercareState:
    return AftercareState(case_id=case_id)


def _offered(s: AftercareState, e: AftercareOffered) -> AftercareState:
    # A new offer reopens a declined or closed after-care; an accepted one stays accepted.
    status = s.status
    if status is not AftercareStatus.ACCEPTED:
        status = AftercareStatus.OFFERED
    return replace(
        s,
        harmed_person_id=s.harmed_person_id or e.harmed_person_id,
        status=status,
        offers=_with(s.offers, e.cause_event_id, e.cause),
        offer_chains=_with(s.offer_chains, e.chain, e.cause_event_id),
    )


def _end_open_check_ins(
    check_ins: Mapping[UUID, CheckIn], participant_id: str | None = None
) -> Mapping[UUID, CheckIn]:
    """Open check-ins (of one participant, or of everyone) will not take place."""
    return _frozen(
        {
            k: replace(c, outcome=CheckInOutcome.ENDED)
            if c.outcome is None and participant_id in (None, c.participant_id)
            else c
            for k, c in check_ins.items()
        }
    )


def _closed(s: AftercareState, e: AftercareClosed) -> AftercareState:
    # Closure ends every plan of the case, the responsible person's desistance plans included.
    return replace(
        s,
        status=AftercareStatus.CLOSED,
        closure_reason=e.reason,
        desistance_plans=frozenset(),
        check_ins=_end_open_check_ins(s.check_ins),
    )


def _plan_ended(s: AftercareState, e: DesistancePlanEnded) -> AftercareState:
    person = e.responsible_person_id
    return replace(
        s,
        desistance_plans=s.desistance_plans - {person},
        check_ins=_end_open_check_ins(s.check_ins, person),
    )


def _check_in(s: AftercareState, e: Any, outcome: CheckInOutcome | None) -> AftercareState:
    known = s.check_ins.get(e.check_in_id)
    due_at = e.due_at if isinstance(e, CheckInScheduled) else (known.due_at if known else None)
    check_in = CheckIn(e.participant_id, e.participant_role, due_at, outcome)
    return replace(s, check_ins=_with(s.check_ins, e.check_in_id, check_in))


def _commitment_status(s: AftercareState, e: Any, status: CommitmentStatus) -> AftercareState:
    known = s.commitments.get(e.commitment_id)
    if known is None:
        return s  # never emitted by decide; ignoring keeps a replay alive
    progress = e.progress if isinstance(e, CommitmentProgressed) else known.progress
    changed = replace(known, status=status, progress=progress, revision=known.revision + 1)
    return replace(s, commitments=_with(s.commitments, e.commitment_id, changed))


def _shared(s: AftercareState, e: ProgressUpdateShared) -> AftercareState:
    known = s.commitments.get(e.commitment_id)
    if known is None:
        return s
    changed = replace(known, shared_revision=max(known.shared_revision, e.commitment_revision))
    return replace(s, commitments=_with(s.commitments, e.commitment_id, changed))


def evolve(s: AftercareState, event: DomainEvent, meta: Metadata) -> AftercareState:
    match event:
        case SupportPlanOpened():
            # Opened at the person's own request: theirs at once, as an accepted plan is.
            return replace(
                s,
                supported_id=event.subject_id,
                support=event.subject,
                status=AftercareStatus.ACCEPTED,
                last_answer=Answer.ACCEPTED,
            )
        case AftercareOffered():
            return _offered(s, event)
        case AftercareAccepted():
            return replace(s, status=AftercareStatus.ACCEPTED, last_answer=Answer.ACCEPTED)
        case AftercareDeclined():
            return replace(s, status=AftercareStatus.DECLINED, last_answer=Answer.DECLINED)
        case AftercareClosed():
            return _closed(s, event)
        case DesistancePlanAccepted():
            return replace(s, desistance_plans=s.desistance_plans | {event.responsible_person_id})
        case DesistancePlanEnded():
            return _plan_ended(s, event)
        case CheckInScheduled():
            return _check_in(s, event, None)
        case CheckInCompleted():
            return _check_in(s, event, CheckInOutcome.COMPLETED)
        case CheckInMissed():
            return _check_in(s, event, CheckInOutcome.MISSED)
        case ReferralMade():
            referral = Referral(
                event.participant_id,
                event.participant_role,
                event.kind,
                event.owner_id,
                event.due_on,
            )
            return replace(s, referrals=_with(s.referrals, event.referral_id, referral))
        case CommitmentRecorded():
            commitment = Commitment(event.owner_id, event.code, event.due_on)
            return replace(s, commitments=_with(s.commitments, event.commitment_id, commitment))
        case CommitmentProgressed():
            return _commitment_status(s, event, CommitmentStatus.PROGRESSED)
        case CommitmentCompleted():
            return _commitment_status(s, event, CommitmentStatus.COMPLETED)
        case CommitmentNotCompleted():
            return _commitment_status(s, event, CommitmentStatus.NOT_COMPLETED)
        case ProgressUpdatePreferenceSet():
            return replace(
                s,
                harmed_person_id=s.harmed_person_id or event.harmed_person_id,
                update_level=event.level,
            )
        case ProgressUpdateShared():
            return _shared(s, event)
        case OutcomeMeasureRecorded():
            key = (event.measure, event.point)
            return replace(s, outcomes=_with(s.outcomes, key, event.score))
        case InstrumentAnswered():
            key = (event.instrument, event.point, event.about_id)
            return replace(
                s, instrument_answers=_with(s.instrument_answers, key, dict(event.answers))
            )
    return s  # another type in this stream: nothing for aftercare to learn from it
