"""R4: the gates before contact, as one pure function that names every unmet gate.

The case's own facts come from `CaseState` (this stream); everything learnt from elsewhere
(consent, risk, the practitioner registry) arrives in a `GateView` that the application layer
fills from this service's projections at `now`. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from mend_events import rules
from mend_events.contracts.catalog.sessions import Participant, ParticipantRole

from mend_sessions.domain.forms import (
    DIRECT_CONTACT,
    NEEDS_RESPONSIBLE_PERSON,
    WITHOUT_RESPONSIBLE_PERSON,
    ContactForm,
)
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import CaseState, Session, SessionStatus
from mend_sessions.domain.team import DEFAULT_TEAM, specialist_gates


@dataclass(frozen=True, slots=True)
class DueReassessment:
    """A `RiskReassessmentDue` not answered by an assessment completed after it: information
    changed (a stage change, a flag, consent regranted, a halt for safety, ...), so the
    assessment before it no longer describes the case."""

    trigger: str  # mend_events.contracts.catalog.risk.ReassessmentTrigger's value
    due_since: datetime


@dataclass(frozen=True, slots=True)
class GateView:
    """What this service knows at `now` from other streams. Never filled from a request body."""

    # Per participant id: the contact forms their consent covers now (taking part AND that form;
    # withdrawn or invalidated consent excluded). A participant absent here has consented to none.
    consented_forms: Mapping[str, frozenset[ContactForm]] = field(default_factory=dict)
    # Responsible person ids whose acknowledgement of the harm stands now.
    acknowledged: frozenset[str] = frozenset()
    # Forms the latest completed risk assessment permits; empty when none exists or it is stale.
    risk_permitted_forms: frozenset[ContactForm] = frozenset()
    # Reassessments the risk service recorded as due and no assessment completed since answers.
    reassessments_due: tuple[DueReassessment, ...] = ()
    # Event ids of severe risk flags raised and not yet resolved.
    severe_flags: frozenset[UUID] = frozenset()
    # The people a safety plan was agreed with (risk's SafetyPlanAgreed): direct contact waits
    # for the harmed person's.
    safety_plans: frozenset[str] = frozenset()
    # Registry records (practitioners stream) of the chosen facilitator and the session's team.
    practitioners: Mapping[str, Practitioner] = field(default_factory=dict)
    # The rule pack in force for the case's agency (`mend_events.rules`; None: no pack read, as
    # in the pure domain's own tests) and its floor on the gap between contact sessions.
    rule_pack: str | None = None
    min_gap_days_floor: int = 0
    # The specialists the pack requires on a session's team (None: the default pack's).
    team: rules.TeamRules | None = None


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """The session to be scheduled, or the scheduled one about to start (`starting`)."""

    session_id: str
    form: ContactForm
    participants: tuple[Participant, ...]
    facilitator_id: str
    team: tuple[str, ...]
    scheduled_for: datetime
    starting: bool = False

    @classmethod
    def starting_now(cls, session: Session) -> SessionRequest:
        return cls(
            session.id,
            session.form,
            session.participants,
            session.facilitator_id,
            session.team,
            session.scheduled_for,
            starting=True,
        )

    def responsible_person(self) -> Participant | None:
        return next((p for p in self.participants if p.role == RESPONSIBLE), None)


RESPONSIBLE = ParticipantRole.RESPONSIBLE_PERSON
_ROLE_WORDS = {
    ParticipantRole.HARMED_PERSON: "harmed person",
    ParticipantRole.RESPONSIBLE_PERSON: "responsible person",
    ParticipantRole.SUPPORTER: "supporter",
    ParticipantRole.INSTITUTION_REP: "institution representative",
}


def label(p: Participant) -> str:
    """How a message names a participant: the two parties by role, anyone else by role and id."""
    words = _ROLE_WORDS[p.role]
    if p.role in (ParticipantRole.HARMED_PERSON, RESPONSIBLE):
        return words
    return f"{words} {p.id}"


def evaluate_gates(
    case: CaseState, view: GateView, request: SessionRequest, now: datetime
) -> list[str]:
    """Every unmet gate for this session, in words a practitioner understands; [] when all pass."""
    return [
        *_case_gates(case, view),
        *_attendance_gates(case, request),
        *_consent_gates(view, request),
        *_risk_gates(view, request, now),
        *_safety_gates(case, view, request),
        *_team_gates(case, view, request),
        *_preparation_gates(case, request),
        *_gap_gates(case, view, request, now),
    ]


# The gates by name, in the order `evaluate_gates` checks them (what a case page lists).
GATE_NAMES = (
    ("case", "The case is not paused and has no unresolved severe risk flag"),
    ("attendance", "The harmed person's preferences allow this form and these participants"),
    ("consent", "Every participant's consent covers this form"),
    ("risk", "A current risk assessment permits this form"),
    ("safety", "A safety plan agreed with the harmed person before any direct contact"),
    ("team", "The chosen facilitator and the specialists the case needs"),
    ("preparation", "Preparation done with every participant"),
    ("gap", "The harmed person's minimum gap between sessions (and the agency's floor)"),
)


def gate_report(
    case: CaseState, view: GateView, request: SessionRequest, now: datetime
) -> list[tuple[str, str, list[str]]]:
    """Each gate (name, what it asks, its unmet reasons: met when empty), the same checks as
    `evaluate_gates`, grouped so a page can show the met ones too."""
    unmet = {
        "case": list(_case_gates(case, view)),
        "attendance": list(_attendance_gates(case, request)),
        "consent": list(_consent_gates(view, request)),
        "risk": list(_risk_gates(view, request, now)),
        "safety": list(_safety_gates(case, view, request)),
        "team": list(_team_gates(case, view, request)),
        "preparation": list(_preparation_gates(case, request)),
        "gap": list(_gap_gates(case, view, request, now)),
    }
    return [(name, asks, unmet[name]) for name, asks in GATE_NAMES]


def _case_gates(case: CaseState, view: GateView) -> Iterator[str]:
    if case.paused:
        yield "case is paused"
    if view.severe_flags:
        yield f"unresolved severe risk flag ({len(view.severe_flags)} open)"


def _attendance_gates(case: CaseState, request: SessionRequest) -> Iterator[str]:
    """Who attends, and in which form, is the harmed person's call (R6)."""
    prefs, form = case.preferences, request.form
    if form not in prefs.permitted_forms:
        yield f"harmed person's preferences do not include {form}"
    responsible = request.responsible_person()
    if responsible is None and form in NEEDS_RESPONSIBLE_PERSON:
        yield f"{form} needs the responsible person among the participants"
    if responsible is not None:
        if form in WITHOUT_RESPONSIBLE_PERSON:
            yield f"{form} does not involve the responsible person"
        if not prefs.responsible_person_takes_part:
            yield "harmed person's preferences exclude the responsible person"
    for p in request.participants:
        if p.role not in (ParticipantRole.HARMED_PERSON, RESPONSIBLE) and p.id not in prefs.invited:
            yield f"{label(p)} is not invited by the harmed person"


def _consent_gates(view: GateView, request: SessionRequest) -> Iterator[str]:
    for p in request.participants:
        if request.form not in view.consented_forms.get(p.id, frozenset()):
            yield f"{label(p)}'s consent does not cover {request.form}"
    responsible = request.responsible_person()
    if responsible is not None and responsible.id not in view.acknowledged:
        yield "responsible person's acknowledgement does not stand"


def _risk_gates(view: GateView, request: SessionRequest, now: datetime) -> Iterator[str]:
    gate = f"no current risk assessment permits {request.form}"
    if request.form not in view.risk_permitted_forms:
        yield gate
        return
    overdue = reassessment_overdue(view.reassessments_due, now)
    if overdue is not None:
        # R4 asks for a *current* assessment; DOMAIN.md stage 6: repeated when information
        # changes. The decision it made stands in the risk history, but it permits nothing
        # until a reassessment is completed.
        yield (
            f"{gate} (a reassessment is due since {_when(overdue.due_since)}: "
            f"{overdue.trigger.replace('_', ' ')})"
        )


def _safety_gates(case: CaseState, view: GateView, request: SessionRequest) -> Iterator[str]:
    """A safety plan is required before any direct contact (face to face, a circle or a
    conference, in a room or live remote); letters and shuttle messages need none."""
    if request.form in DIRECT_CONTACT and case.harmed_person_id not in view.safety_plans:
        yield f"no safety plan agreed with the harmed person before direct contact ({request.form})"


def reassessment_overdue(due: tuple[DueReassessment, ...], now: datetime) -> DueReassessment | None:
    """The earliest reassessment due at `now` (fallen due by then, not answered), or None.
    One that falls due after `now` does not count yet: decisions are made as of `now`."""
    fallen = [d for d in due if d.due_since <= now]
    return min(fallen, key=lambda d: (d.due_since, d.trigger)) if fallen else None


def _team_gates(case: CaseState, view: GateView, request: SessionRequest) -> Iterator[str]:
    chosen = case.facilitator_id
    if chosen is None:
        yield "harmed person has not chosen a facilitator"
    else:
        if request.facilitator_id != chosen:
            yield f"facilitator {request.facilitator_id} is not the one the harmed person chose"
        record = view.practitioners.get(chosen)
        gaps = record.facilitation_gaps() if record else ["not in the practitioner registry"]
        if gaps:
            yield f"chosen facilitator is not qualified ({'; '.join(gaps)})"
    team = view.team or DEFAULT_TEAM
    with_them = request.responsible_person() is not None
    if request.form in DIRECT_CONTACT:
        needed = team.direct_contact + (team.direct_with_responsible_person if with_them else ())
        yield from specialist_gates(_specialists(view, request), needed, "")
    elif with_them and team.indirect_with_responsible_person:
        why = f" (for {request.form} with the responsible person under rule pack {view.rule_pack})"
        needed = team.indirect_with_responsible_person
        yield from specialist_gates(_specialists(view, request), needed, why)


def _specialists(view: GateView, request: SessionRequest) -> list[Practitioner]:
    # Specialists come on top of the facilitator ("facilitator plus ...").
    members = [view.practitioners[m] for m in request.team if m in view.practitioners]
    return [m for m in members if m.id != request.facilitator_id]


def _preparation_gates(case: CaseState, request: SessionRequest) -> Iterator[str]:
    for p in request.participants:
        if p.id not in case.prepared:
            yield f"preparation not done with {label(p)}"


def min_gap(case: CaseState, view: GateView) -> tuple[int, str]:
    """The gap kept between contact sessions, in days, and whose it is. The harmed person sets
    the pace (DOMAIN.md stage 3); the agency's rule pack may set a floor that every case keeps
    regardless (a safeguard of its practice framework). The floor only ever lengthens the gap:
    contact never comes sooner than she asked, so her preference is never overridden toward
    more contact (R6)."""
    days = case.preferences.min_gap_days
    if view.min_gap_days_floor > days:
        return view.min_gap_days_floor, f"the agency's floor under rule pack {view.rule_pack}"
    return days, ""


def _gap_gates(
    case: CaseState, view: GateView, request: SessionRequest, now: datetime
) -> Iterator[str]:
    days, whose = min_gap(case, view)
    if days == 0:
        return
    # The reason names the pack when its floor, not her preference, set the gap.
    of = f"{days} days ({whose})" if whose else f"{days} days"
    gap = timedelta(days=days)
    at = now if request.starting else request.scheduled_for
    others = [s for s in case.sessions.values() if s.id != request.session_id]
    # Contact that happened (or is happening): the gap runs from its end.
    ends = [s.ended_at or s.started_at for s in others if s.started_at is not None]
    last = max((e for e in ends if e is not None), default=None)
    if last is not None and at < last + gap:
        yield (
            f"minimum gap of {of} since last session not respected "
            f"(next allowed {_when(last + gap)})"
        )
    if request.starting:
        return
    # Sessions still ahead: a new one must keep the gap on either side of them.
    for s in sorted(others, key=lambda s: (s.scheduled_for, s.id)):
        if s.status == SessionStatus.SCHEDULED and abs(s.scheduled_for - at) < gap:
            yield (
                f"minimum gap of {of} not respected: session {s.id} is scheduled for "
                f"{_when(s.scheduled_for)}"
            )


def _when(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if (utc.hour, utc.minute) == (0, 0):
        return utc.date().isoformat()
    return f"{utc:%Y-%m-%d %H:%M} UTC"
