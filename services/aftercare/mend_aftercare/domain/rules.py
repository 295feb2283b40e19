"""The rules every aftercare decision rests on: what each update level lets through and whether the
harmed person may be told (`should_share_update`, the whole privacy rule), who may close, and
the guards each decision starts with. Pure."""

from __future__ import annotations

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.aftercare import (
    ClosureReason,
    CommitmentCompleted,
    CommitmentNotCompleted,
    CommitmentProgressed,
    CommitmentStatus,
    PlanRole,
    UpdateLevel,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_aftercare.domain.state import (
    AftercareState,
    AftercareStatus,
)

LEVEL_SHARES: dict[UpdateLevel, frozenset[CommitmentStatus]] = {
    UpdateLevel.EACH_UPDATE: frozenset(CommitmentStatus),
    UpdateLevel.COMPLETION_ONLY: frozenset(
        {CommitmentStatus.COMPLETED, CommitmentStatus.NOT_COMPLETED}
    ),
    UpdateLevel.RISK_CHANGES_ONLY: frozenset({CommitmentStatus.NOT_COMPLETED}),
    UpdateLevel.NONE: frozenset(),
}
_STATUS_OF_EVENT: dict[type[DomainEvent], CommitmentStatus] = {
    CommitmentProgressed: CommitmentStatus.PROGRESSED,
    CommitmentCompleted: CommitmentStatus.COMPLETED,
    CommitmentNotCompleted: CommitmentStatus.NOT_COMPLETED,
}
HARMED_PERSON_CLOSURES = frozenset(ClosureReason) - {ClosureReason.NO_CONTACT_POSSIBLE}
PRACTITIONER_CLOSURES = frozenset({ClosureReason.UNSAFE, ClosureReason.NO_CONTACT_POSSIBLE})
# A support plan's person may have no account (an enquirer on the phone): the practitioner
# records their word to stop as well (it only ever ends contact).
SUPPORT_PRACTITIONER_CLOSURES = PRACTITIONER_CLOSURES | {
    ClosureReason.WITHDREW,
    ClosureReason.DECLINED,
    ClosureReason.COMPLETED,
}


# --- the progress-update rule ---------------------------------------------------------------


def _may_share(state: AftercareState, status: CommitmentStatus, consent_now: bool) -> bool:
    return (
        consent_now
        and state.harmed_person_id is not None
        and not state.closed  # closed at their word, or as unsafe: nobody contacts them now
        and status in LEVEL_SHARES[state.update_level]
    )


def should_share_update(
    state: AftercareState, commitment_event: DomainEvent, consent_for_updates: bool
) -> bool:
    """May the harmed person be told of this commitment event? Only if their updates consent is
    current (`consent_for_updates`, read from the consent service's projection), aftercare is
    not closed, and the level they chose includes this status. Any other event: no."""
    status = _STATUS_OF_EVENT.get(type(commitment_event))
    return status is not None and _may_share(state, status, consent_for_updates)


# --- guards ---------------------------------------------------------------------------------


def _require_role(ctx: CommandContext, *roles: Role) -> None:
    if ctx.actor.role not in roles:
        allowed = " or ".join(r.replace("_", " ") for r in roles)
        raise Forbidden(f"only the {allowed} may do this")


def _harmed_person(state: AftercareState) -> str:
    if state.harmed_person_id is None:
        raise NotFound("no after-care has been offered in this case yet")
    return state.harmed_person_id


def _is_harmed_person(state: AftercareState, ctx: CommandContext) -> bool:
    return ctx.actor.role is Role.HARMED_PERSON and ctx.actor.id == state.harmed_person_id


def _is_supported_person(state: AftercareState, ctx: CommandContext) -> bool:
    """The person a support plan is for, whatever their role in any case."""
    return (
        state.supported_id is not None
        and ctx.actor.role in PARTICIPANT_ROLES
        and ctx.actor.id == state.supported_id
    )


def _require_harmed_person(state: AftercareState, ctx: CommandContext, doing: str) -> None:
    _harmed_person(state)
    if not _is_harmed_person(state, ctx):
        raise Forbidden(f"only the harmed person may {doing}")


def _require_open(state: AftercareState) -> None:
    if state.closed:
        raise Rejected(
            "after-care in this case is closed; it reopens only with a new offer "
            "or the harmed person's acceptance"
        )


def _require_plan(state: AftercareState, participant_id: str, role: PlanRole) -> None:
    """Check-ins and referrals only within a plan the participant chose."""
    if role is PlanRole.SUPPORTED_PERSON:
        if state.supported_id is None or participant_id != state.supported_id:
            raise Rejected("this is not the support plan's person", field="participant_id")
        if state.status is not AftercareStatus.ACCEPTED:
            raise Rejected("this support plan is not open", field="participant_id")
    elif role is PlanRole.HARMED_PERSON:
        if participant_id != state.harmed_person_id:
            raise Rejected("this is not the case's harmed person", field="participant_id")
        if state.status is not AftercareStatus.ACCEPTED:
            raise Rejected("the harmed person has not accepted after-care", field="participant_id")
    elif participant_id not in state.desistance_plans:
        raise Rejected(
            "this responsible person has no open desistance plan", field="participant_id"
        )


def _same_or_conflict(existing: object, wanted: object, field: str) -> list[DomainEvent]:
    """A retried command finds its own result: []. The same id with other content is an error."""
    if existing != wanted:
        raise Rejected("this id is already used for something else", field=field)
    return []
