"""Referrals and enquiries (their route, who referred, what the person agreed to be contacted
about and how, and their outcome), and the responsible person's answer when they decline or
cannot be reached: an outcome of its own, after which the harmed person is offered the forms
that need no contact with them, and no session with them is scheduled or started."""

from __future__ import annotations

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import (
    ParticipantRole,
    ReferralOutcomeRecorded,
    ReferralRecorded,
    ReferralSource,
    ResponsiblePersonOutcomeRecorded,
)
from mend_events.contracts.events import DomainEvent
from mend_events.contracts.vocabulary import ContactForm
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_sessions import commands as c
from mend_sessions.domain.guards import practitioner_only, require_open
from mend_sessions.domain.state import CaseState

REFERRERS = frozenset({Role.PRACTITIONER, Role.COORDINATOR, Role.SUPPORTER, Role.INSTITUTION_REP})
# What remains without the responsible person: restorative story-telling, a letter never sent,
# a conference of others affected.
WITHOUT_THEM = (ContactForm.STORY_TELLING, ContactForm.UNSENT_LETTER, ContactForm.CONFERENCE)


def refer(state: CaseState, cmd: c.RecordReferral, ctx: CommandContext) -> list[DomainEvent]:
    actor = ctx.actor
    if cmd.source == ReferralSource.SELF:
        if actor.role != Role.HARMED_PERSON or actor.id != cmd.harmed_person_id:
            if actor.role not in (Role.PRACTITIONER, Role.COORDINATOR):
                raise Forbidden("a self-referral is the person's own, or taken down by staff")
    elif actor.role not in REFERRERS:
        raise Forbidden("only an agency, a supporter or an institution refers someone")
    if state.harmed_person_id not in (None, cmd.harmed_person_id):
        raise Rejected("this case is another person's", field="harmed_person_id")
    event = ReferralRecorded(**cmd.model_dump())
    found = state.referrals.get(cmd.referral_id)
    if found is not None:
        if found[0] == event:
            return []
        raise Rejected("this referral id is already used", field="referral_id")
    return [event]


def outcome(
    state: CaseState, cmd: c.RecordReferralOutcome, ctx: CommandContext
) -> list[DomainEvent]:
    if ctx.actor.role not in (Role.PRACTITIONER, Role.COORDINATOR):
        raise Forbidden("only staff record a referral's outcome")
    found = state.referrals.get(cmd.referral_id)
    if found is None:
        raise NotFound("no such referral in this case", field="referral_id")
    if found[1] == str(cmd.outcome):
        return []
    if found[1] is not None:
        raise Rejected(f"this referral's outcome is already {found[1]}", field="outcome")
    return [ReferralOutcomeRecorded(referral_id=cmd.referral_id, outcome=cmd.outcome)]


def responsible_person(
    state: CaseState, cmd: c.RecordResponsiblePersonOutcome, ctx: CommandContext
) -> list[DomainEvent]:
    require_open(state)
    practitioner_only(ctx, "record the responsible person's answer")
    if state.rp_outcome is not None:
        if state.rp_outcome.outcome == cmd.outcome:
            return []
        raise Rejected(f"already recorded: {state.rp_outcome.outcome}", field="outcome")
    offered = tuple(f for f in WITHOUT_THEM if f in state.preferences.permitted_forms)
    return [ResponsiblePersonOutcomeRecorded(outcome=cmd.outcome, offered_forms=offered)]


def without_them(state: CaseState, roles: list[ParticipantRole]) -> None:
    """Refuse a session with the responsible person once they declined or were unreachable."""
    if state.rp_outcome is not None and ParticipantRole.RESPONSIBLE_PERSON in roles:
        raise Rejected(
            f"the responsible person {state.rp_outcome.outcome.replace('_', ' ')}: "
            "choose a form without them",
            field="participants",
        )
