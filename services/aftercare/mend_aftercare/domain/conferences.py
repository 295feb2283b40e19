"""Community team conferences (issue 21): a recurring review of the case by its team and the
community members the harmed person agreed to. Pure: the state folded from the case stream (its
conference events only, `conference_state.py`), and the decisions. A separate decider over the
same stream, so the after-care state and its decisions stay as they are.

Rules a reviewer should know:
- Scheduling needs the harmed person known and her participation consent (take_part) in force
  now; the application layer reads it from ConsentFacts and fills the command.
- An invited member takes part only once the harmed person agreed to that invitation (her word,
  or her practitioner relaying it); a refusal, at any time, ends their part from then on.
- Minutes and the other words are sealed under her key by the store; members read the minutes
  only of the meetings they attended (views, service side).
- A withdrawal of her participation consent, a halt or the case's closing cancels every
  conference still to meet, once: a redelivered cause finds nothing left to cancel.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import aftercare as ev
from mend_events.contracts.catalog.aftercare import ConferenceActionKind, ConferenceCancelCause
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_aftercare import conference_commands as cc
from mend_aftercare.domain.conference_state import (
    Conference,
    ConferencesState,
    Meeting,
    Member,
    evolve,
    initial,
    meeting_at,
    next_meeting,
)

TEAM = (Role.PRACTITIONER, Role.COORDINATOR)
__all__ = [
    "Conference", "ConferencesState", "Meeting", "Member", "conference_decider", "decide",
    "evolve", "initial", "meeting_at", "next_meeting",
]  # fmt: skip


# --- decisions ----------------------------------------------------------------------------------


def _role(ctx: CommandContext, *roles: Role) -> None:
    if ctx.actor.role not in roles:
        raise Forbidden("only the " + " or ".join(roles) + " may do this")


def _conference(s: ConferencesState, conference_id: str, *, open_: bool = True) -> Conference:
    found = s.conferences.get(conference_id)
    if found is None:
        raise NotFound("no such conference in this case", field="conference_id")
    if open_ and found.finished:
        raise Rejected("this conference will not meet again", field="conference_id")
    return found


def _schedule(s: ConferencesState, cmd: cc.ScheduleConference, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    existing = s.conferences.get(cmd.conference_id)
    if existing is not None:
        same = (existing.starts_at, existing.zone, existing.cadence)
        if same != (cmd.starts_at, cmd.zone, cmd.cadence):
            raise Rejected("this id is already used for something else", field="conference_id")
        return []
    if cmd.harmed_person_id is None:
        raise NotFound("the case's harmed person is not known here yet", field="case_id")
    if not cmd.participation_consent:
        raise Rejected(
            "the harmed person's consent to take part is not in force", field="conference_id"
        )
    if cmd.starts_at < ctx.now:
        raise Rejected("a conference cannot be scheduled in the past", field="starts_at")
    return [
        ev.ConferenceScheduled(
            conference_id=cmd.conference_id,
            harmed_person_id=cmd.harmed_person_id,
            starts_at=cmd.starts_at,
            zone=cmd.zone,
            cadence=cmd.cadence,
        )
    ]


def _invite(s: ConferencesState, cmd: cc.InviteTo, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    conference = _conference(s, cmd.conference_id)
    if cmd.member_id == s.harmed_person_id:
        raise Rejected("the harmed person is not a guest of her own case", field="member_id")
    known = conference.members.get(cmd.member_id)
    if known is not None:
        if known.role is not cmd.member_role:
            raise Rejected("this member is invited in another role", field="member_role")
        return []
    return [ev.ConferenceMemberInvited(**cmd.model_dump())]


def _answer(s: ConferencesState, cmd: cc.AnswerFor, ctx: CommandContext) -> list:
    """Hers: the harmed person's own word, or her allocated practitioner relaying it."""
    own = ctx.actor.role is Role.HARMED_PERSON and ctx.actor.id == s.harmed_person_id
    if not (own or ctx.actor.role is Role.PRACTITIONER):
        raise Forbidden("only the harmed person agrees to who takes part")
    conference = _conference(s, cmd.conference_id, open_=False)
    known = conference.members.get(cmd.member_id)
    if known is None:
        raise NotFound("this person is not invited to this conference", field="member_id")
    if known.answer is cmd.answer:
        return []
    return [ev.ConferenceInvitationAnswered(**cmd.model_dump())]


def _hold(s: ConferencesState, cmd: cc.HoldMeeting, ctx: CommandContext) -> list:
    _role(ctx, Role.PRACTITIONER)
    conference = _conference(s, cmd.conference_id)
    if cmd.held_at > ctx.now:
        raise Rejected("a meeting is recorded once it took place", field="held_at")
    if cmd.held_at < conference.starts_at - timedelta(days=1):
        raise Rejected("the conference's first meeting is later", field="held_at")
    allowed = {s.harmed_person_id, ctx.actor.id, *conference.taking_part()}
    if any(a not in allowed for a in cmd.attendee_ids):
        raise Rejected(
            "an attendee is neither the harmed person nor a member she agreed to",
            field="attendee_ids",
        )
    assert s.harmed_person_id is not None  # fixed by the scheduling
    data = cmd.model_dump(exclude={"attendee_ids"})
    return [
        ev.ConferenceHeld(
            **data,
            occurrence=len(conference.meetings) + 1,
            harmed_person_id=s.harmed_person_id,
            attendee_ids=tuple(dict.fromkeys(cmd.attendee_ids)),
        )
    ]


_NEEDS: dict[ConferenceActionKind, tuple[str, ...]] = {
    ConferenceActionKind.COMMITMENT: ("commitment_code",),
    ConferenceActionKind.CHECK_IN: ("participant_id", "participant_role", "due_at"),
    ConferenceActionKind.REFERRAL: ("participant_id", "participant_role", "referral_kind",
                                    "due_on"),
}  # fmt: skip
_FIELDS = ("participant_id", "participant_role", "commitment_code", "referral_kind", "due_on",
           "due_at")  # fmt: skip


def _agree(s: ConferencesState, cmd: cc.AgreeActionAt, ctx: CommandContext) -> list:
    _role(ctx, Role.PRACTITIONER)
    conference = _conference(s, cmd.conference_id, open_=False)
    data: dict[str, Any] = cmd.model_dump()
    existing = conference.actions.get(cmd.action_id)
    if existing is not None:
        mine = existing.model_dump(exclude={"occurrence"})
        if mine != data:
            raise Rejected("this id is already used for something else", field="action_id")
        return []
    if conference.cancelled is not None or not conference.meetings:
        raise Rejected("actions are agreed at a meeting that took place", field="conference_id")
    check_action_fields(cmd)
    return [ev.ConferenceActionAgreed(**data, occurrence=len(conference.meetings))]


def check_action_fields(cmd: cc.AgreeAction) -> None:
    """An action carries exactly the fields its kind needs (else Rejected naming the field):
    checked before anything is built from them, the commitment, check-in or referral it
    becomes included."""
    for name in _FIELDS:
        needed = name in _NEEDS[cmd.kind]
        if needed != (getattr(cmd, name) is not None):
            reason = "is needed" if needed else "does not belong"
            raise Rejected(f"{name} {reason} for this kind of action", field=name)


def _cancel(s: ConferencesState, cmd: cc.CancelOne, ctx: CommandContext) -> list:
    _role(ctx, *TEAM)
    conference = _conference(s, cmd.conference_id, open_=False)
    if conference.cancelled is not None:
        return []
    if conference.finished:
        raise Rejected("this conference has met and will not meet again", field="conference_id")
    return [
        ev.ConferenceCancelled(
            conference_id=cmd.conference_id,
            cause=ConferenceCancelCause.BY_TEAM,
            cancelled_by_id=ctx.actor.id,
        )
    ]


def _cancel_all(s: ConferencesState, cmd: cc.CancelConferences, ctx: CommandContext) -> list:
    """Every conference still to meet, once: one that is finished or cancelled is left."""
    _role(ctx, Role.SYSTEM)
    return [
        ev.ConferenceCancelled(
            conference_id=c.conference_id, cause=cmd.cause, cause_event_id=cmd.cause_event_id
        )
        for c in s.conferences.values()
        if not c.finished
    ]


_HANDLERS: dict[type, Any] = {
    cc.ScheduleConference: _schedule,
    cc.InviteTo: _invite,
    cc.AnswerFor: _answer,
    cc.HoldMeeting: _hold,
    cc.AgreeActionAt: _agree,
    cc.CancelOne: _cancel,
    cc.CancelConferences: _cancel_all,
}


def decide(s: ConferencesState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise Rejected(f"conferences do not handle {type(command).__name__}")
    return handler(s, command, ctx)


conference_decider: Decider[ConferencesState] = Decider(
    initial=initial, evolve=evolve, decide=decide
)
