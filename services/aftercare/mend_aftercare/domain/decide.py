"""Aftercare decisions, command by command: `decide(state, command, ctx) -> events` and the
`decider`. Pure."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import aftercare as ev
from mend_events.contracts.catalog.aftercare import CommitmentStatus, PlanRole, ReferralKind
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_aftercare import commands as c
from mend_aftercare.domain.commitments import (
    finish_commitment,
    record_commitment,
    record_measure,
    record_progress,
    share_progress,
)
from mend_aftercare.domain.research import answer_instrument
from mend_aftercare.domain.rules import (
    HARMED_PERSON_CLOSURES,
    PRACTITIONER_CLOSURES,
    SUPPORT_PRACTITIONER_CLOSURES,
    _is_harmed_person,
    _is_supported_person,
    _require_harmed_person,
    _require_open,
    _require_plan,
    _require_role,
    _same_or_conflict,
)
from mend_aftercare.domain.state import (
    AftercareState,
    AftercareStatus,
    CheckIn,
    CheckInOutcome,
    Referral,
    evolve,
    initial,
)

# --- the harmed person's after-care ---------------------------------------------------------


def _offer(s: AftercareState, cmd: c.OfferAftercare, ctx: CommandContext) -> list[DomainEvent]:
    _require_role(ctx, Role.SYSTEM, Role.PRACTITIONER)
    if s.harmed_person_id not in (None, cmd.harmed_person_id):
        raise Rejected("this case has another harmed person", field="harmed_person_id")
    if cmd.cause_event_id in s.offers or cmd.chain in s.offer_chains:
        return []
    return [
        ev.AftercareOffered(
            harmed_person_id=cmd.harmed_person_id,
            cause=cmd.cause,
            cause_event_id=cmd.cause_event_id,
            reopens_closure=s.closure_reason if s.closed else None,
            root_cause_event_id=cmd.root_cause_event_id,
        )
    ]


def _accept(s: AftercareState, cmd: c.AcceptAftercare, ctx: CommandContext) -> list[DomainEvent]:
    _require_harmed_person(s, ctx, "accept after-care")
    return [] if s.status is AftercareStatus.ACCEPTED else [ev.AftercareAccepted()]


def _decline(s: AftercareState, cmd: c.DeclineAftercare, ctx: CommandContext) -> list[DomainEvent]:
    _require_harmed_person(s, ctx, "decline after-care")
    if s.status is AftercareStatus.DECLINED:
        return []
    if s.status is AftercareStatus.ACCEPTED:
        raise Rejected("after-care was accepted; to stop it, close it with the reason withdrew")
    if s.status is not AftercareStatus.OFFERED:
        raise Rejected("there is no open offer of after-care to decline")
    return [ev.AftercareDeclined()]


def _open_support(
    s: AftercareState, cmd: c.OpenSupportPlan, ctx: CommandContext
) -> list[DomainEvent]:
    """At the person's request: theirs, or a practitioner recording it. A plan stopped earlier
    opens again the same way; an open one is left as it is."""
    if not (ctx.actor.role is Role.PRACTITIONER or ctx.actor.id == cmd.subject_id):
        raise Forbidden("only the person, or a practitioner at their request, opens support")
    if s.harmed_person_id is not None:
        raise Rejected("this is a case's after-care, not a support plan", field="subject_id")
    if s.supported_id not in (None, cmd.subject_id):
        raise Rejected("this support plan is another person's", field="subject_id")
    if s.supported_id is not None and s.status is AftercareStatus.ACCEPTED:
        return []
    return [ev.SupportPlanOpened(subject_id=cmd.subject_id, subject=cmd.subject)]


def _close_support(
    s: AftercareState, cmd: c.CloseAftercare, ctx: CommandContext
) -> list[DomainEvent]:
    if _is_supported_person(s, ctx):
        allowed = HARMED_PERSON_CLOSURES
    elif ctx.actor.role is Role.PRACTITIONER:
        allowed = SUPPORT_PRACTITIONER_CLOSURES
    else:
        raise Forbidden("only the person, or a practitioner, may stop a support plan")
    if cmd.reason not in allowed:
        raise Rejected("this reason is not one to stop a support plan with", field="reason")
    if s.closed:
        return _same_or_conflict(s.closure_reason, cmd.reason, "reason")
    return [ev.AftercareClosed(reason=cmd.reason)]


def _close(s: AftercareState, cmd: c.CloseAftercare, ctx: CommandContext) -> list[DomainEvent]:
    if s.supported_id is not None:
        return _close_support(s, cmd, ctx)
    if s.status is AftercareStatus.NOT_OFFERED:
        raise NotFound("there is no after-care to close in this case")
    if _is_harmed_person(s, ctx):
        if cmd.reason not in HARMED_PERSON_CLOSURES:
            raise Rejected(
                "no_contact_possible is for a practitioner who cannot reach the harmed person",
                field="reason",
            )
    elif ctx.actor.role is Role.PRACTITIONER:
        if cmd.reason not in PRACTITIONER_CLOSURES:
            raise Forbidden(
                "only the harmed person may close after-care for this reason", field="reason"
            )
    else:
        raise Forbidden("only the harmed person, or a practitioner for safety, may close")
    if s.closed:
        return _same_or_conflict(s.closure_reason, cmd.reason, "reason")
    return [ev.AftercareClosed(reason=cmd.reason)]


def _prefer(
    s: AftercareState, cmd: c.SetProgressUpdatePreference, ctx: CommandContext
) -> list[DomainEvent]:
    # Setting a preference needs no offer first: the harmed person may choose at any stage.
    if ctx.actor.role is not Role.HARMED_PERSON or s.harmed_person_id not in (None, ctx.actor.id):
        raise Forbidden("only the harmed person may choose which progress updates they receive")
    if s.harmed_person_id is not None and s.update_level is cmd.level:
        return []
    return [ev.ProgressUpdatePreferenceSet(harmed_person_id=ctx.actor.id, level=cmd.level)]


# --- the responsible person's desistance plan -----------------------------------------------


def _take_plan(
    s: AftercareState, cmd: c.AcceptDesistancePlan, ctx: CommandContext
) -> list[DomainEvent]:
    _require_role(ctx, Role.RESPONSIBLE_PERSON)
    if ctx.actor.id in s.desistance_plans:
        return []
    _require_open(s)
    return [ev.DesistancePlanAccepted(responsible_person_id=ctx.actor.id)]


def _leave_plan(
    s: AftercareState, cmd: c.EndDesistancePlan, ctx: CommandContext
) -> list[DomainEvent]:
    _require_role(ctx, Role.RESPONSIBLE_PERSON)
    if ctx.actor.id not in s.desistance_plans:
        return []
    return [ev.DesistancePlanEnded(responsible_person_id=ctx.actor.id)]


# --- check-ins and referrals ----------------------------------------------------------------


def _schedule(s: AftercareState, cmd: c.ScheduleCheckIn, ctx: CommandContext) -> list[DomainEvent]:
    _require_role(ctx, Role.PRACTITIONER)
    existing = s.check_ins.get(cmd.check_in_id)
    if existing is not None:
        wanted = CheckIn(cmd.participant_id, cmd.participant_role, cmd.due_at, existing.outcome)
        return _same_or_conflict(existing, wanted, "check_in_id")
    _require_open(s)
    _require_plan(s, cmd.participant_id, cmd.participant_role)
    if cmd.due_at < ctx.now:
        raise Rejected("a check-in cannot be scheduled in the past", field="due_at")
    return [ev.CheckInScheduled(**cmd.model_dump())]


def _check_in_outcome(
    s: AftercareState,
    cmd: c.CompleteCheckIn | c.MarkCheckInMissed,
    ctx: CommandContext,
    *,
    outcome: CheckInOutcome,
) -> list[DomainEvent]:
    _require_role(ctx, Role.PRACTITIONER)
    check_in = s.check_ins.get(cmd.check_in_id)
    if check_in is None:
        raise NotFound("no such check-in in this case", field="check_in_id")
    if check_in.outcome is outcome:
        return []
    if check_in.outcome is not None:
        raise Rejected(f"this check-in is already {check_in.outcome}", field="check_in_id")
    if outcome is CheckInOutcome.MISSED and check_in.due_at and ctx.now < check_in.due_at:
        raise Rejected("a check-in can be missed only once its time has come", field="check_in_id")
    event = ev.CheckInCompleted if outcome is CheckInOutcome.COMPLETED else ev.CheckInMissed
    return [
        event(
            check_in_id=cmd.check_in_id,
            participant_id=check_in.participant_id,
            participant_role=check_in.role,
        )
    ]


def _refer(s: AftercareState, cmd: c.MakeReferral, ctx: CommandContext) -> list[DomainEvent]:
    _require_role(ctx, Role.PRACTITIONER)
    existing = s.referrals.get(cmd.referral_id)
    if existing is not None:
        wanted = Referral(
            cmd.participant_id, cmd.participant_role, cmd.kind, cmd.owner_id, cmd.due_on
        )
        return _same_or_conflict(existing, wanted, "referral_id")
    _require_open(s)
    _require_plan(s, cmd.participant_id, cmd.participant_role)
    if (
        cmd.kind is ReferralKind.CIRCLES_OF_SUPPORT_AND_ACCOUNTABILITY
        and cmd.participant_role is not PlanRole.RESPONSIBLE_PERSON
    ):
        raise Rejected(
            "circles of support and accountability are for the responsible person", field="kind"
        )
    if cmd.due_on < ctx.now.date():
        raise Rejected("a referral cannot be due in the past", field="due_on")
    return [ev.ReferralMade(**cmd.model_dump())]


_HANDLERS: dict[type, Callable[[AftercareState, Any, CommandContext], list[DomainEvent]]] = {
    c.OpenSupportPlan: _open_support,
    c.OfferAftercare: _offer,
    c.AcceptAftercare: _accept,
    c.DeclineAftercare: _decline,
    c.CloseAftercare: _close,
    c.SetProgressUpdatePreference: _prefer,
    c.AcceptDesistancePlan: _take_plan,
    c.EndDesistancePlan: _leave_plan,
    c.ScheduleCheckIn: _schedule,
    c.CompleteCheckIn: partial(_check_in_outcome, outcome=CheckInOutcome.COMPLETED),
    c.MarkCheckInMissed: partial(_check_in_outcome, outcome=CheckInOutcome.MISSED),
    c.MakeReferral: _refer,
    c.RecordCommitment: record_commitment,
    c.RecordCommitmentProgress: record_progress,
    c.CompleteCommitment: partial(finish_commitment, status=CommitmentStatus.COMPLETED),
    c.RecordCommitmentNotCompleted: partial(
        finish_commitment, status=CommitmentStatus.NOT_COMPLETED
    ),
    c.ShareProgressUpdate: share_progress,
    c.RecordOutcomeMeasure: record_measure,
    c.AnswerInstrument: answer_instrument,
}


def decide(state: AftercareState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise Rejected(f"aftercare does not handle {type(command).__name__}")
    return handler(state, command, ctx)


decider: Decider[AftercareState] = Decider(initial=initial, evolve=evolve, decide=decide)
