"""Consent decisions (R1, R2): `decide(state, command, ctx) -> events` and the `decider`. Pure;
`now` comes from the command context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid5

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import PARTICIPANT_ROLES, Actor, Role
from mend_events.contracts.catalog import consent as ev
from mend_events.contracts.catalog.consent import (
    TAKE_PART,
    GrantRef,
    ScopeKind,
    ShareTerms,
    WithdrawalTarget,
    parse_scope,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_consent.commands import (
    GiveConsent,
    LapseDueGrants,
    RecordAcknowledgement,
    ReportIncentive,
    UnderConsentRules,
    WithdrawAcknowledgement,
    WithdrawAll,
    WithdrawGrant,
    WithdrawScope,
)
from mend_consent.domain.queries import acknowledgement_stands, active_grants
from mend_consent.domain.state import ConsentState, Grant, GrantStatus, evolve, initial

# --------------------------------------------------------------------------------------- decide


def decide(state: ConsentState, command: object, ctx: CommandContext) -> list[DomainEvent]:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"not a consent command: {type(command).__name__}")
    return handler(state, command, ctx)


def _give_under_rules(
    state: ConsentState, under: UnderConsentRules, ctx: CommandContext
) -> list[DomainEvent]:
    return _give(state, under.command, ctx, under)


def _give(
    state: ConsentState,
    cmd: GiveConsent,
    ctx: CommandContext,
    under: UnderConsentRules | None = None,
) -> list[DomainEvent]:
    """Without `under` (the pure domain's own tests): no pack, and no expiry unless asked."""
    actor = ctx.actor
    if actor.role not in PARTICIPANT_ROLES:
        raise Forbidden(
            "consent is given by the participant themself; a practitioner may only witness it",
            field="participant_id",
        )
    if actor.id != cmd.participant_id:
        raise Forbidden(
            "nobody may give consent on another participant's behalf", field="participant_id"
        )
    if not cmd.no_incentive_attested:
        raise Rejected(
            "consent cannot be recorded where an incentive was offered",
            field="no_incentive_attested",
        )
    if cmd.expires_at is not None and cmd.expires_at <= ctx.now:
        raise Rejected("the expiry must be in the future", field="expires_at")
    if cmd.witnessed_by == actor.id:
        raise Rejected("a participant cannot witness their own consent", field="witnessed_by")
    terms = _share_terms(cmd, ctx)

    # Same request, same id: a retry with the same correlation id cannot create a second grant.
    # "Same" is the request as the participant made it, never the default derived from the pack
    # in force: a retry after the agency adopted another pack is still the same request.
    grant_id = cmd.grant_id or uuid5(ctx.correlation_id, f"grant/{cmd.participant_id}/{cmd.scope}")
    same = (cmd.participant_id, cmd.scope, cmd.expires_at, terms)
    existing = state.grants.get(grant_id)
    if existing is not None:
        if (
            existing.participant_id,
            existing.scope,
            existing.requested_expiry,
            existing.share_terms,
        ) == same:
            return []
        raise Rejected("this grant id is already used for another grant", field="grant_id")
    for g in active_grants(state, cmd.participant_id, at=ctx.now):
        if (g.participant_id, g.scope, g.requested_expiry, g.share_terms) == same:
            return []  # already given and in force: nothing new to record
    expires_at, from_pack = cmd.expires_at, False
    if under is not None and expires_at is None:
        expires_at, from_pack = ctx.now + timedelta(days=under.default_expiry_days), True
    return [
        ev.ConsentGiven(
            grant_id=grant_id,
            participant_id=cmd.participant_id,
            participant_role=actor.role,
            scope=cmd.scope,
            informed_how=cmd.informed_how,
            no_incentive_attested=True,
            witnessed_by=cmd.witnessed_by,
            expires_at=expires_at,
            share_terms=terms,
            rule_pack=under.rule_pack if under is not None else None,
            expiry_from_pack=from_pack,
        )
    ]


def _share_terms(cmd: GiveConsent, ctx: CommandContext) -> ShareTerms | None:
    """A share grant names its terms; no other grant has any. Terms already over are refused."""
    sharing = parse_scope(cmd.scope).kind is ScopeKind.SHARE
    if sharing != (cmd.share_terms is not None):
        reason = (
            "sharing with an agency needs its terms: purpose, categories, event types, validity"
            if sharing
            else "only a share:<agency> scope has share terms"
        )
        raise Rejected(reason, field="share_terms")
    if cmd.share_terms is None:
        return None
    if cmd.share_terms.valid_until <= ctx.now:
        raise Rejected("the sharing period must end in the future", field="share_terms")
    return ShareTerms.model_validate(cmd.share_terms.model_dump())


def _check_withdrawer(actor: Actor, participant_id: str, scope: str | None = None) -> None:
    # The participant themself, or a practitioner relaying what the participant told them:
    # refusing that would keep someone in a process they asked to leave (R2). Giving consent
    # has no such relay: there, only the participant's own act counts (R1). A share grant is
    # the person's to give and to take back (issue 18): a practitioner cannot end one alone;
    # a relayed withdrawal of everything still ends it, so leaving stays total (R2).
    sharing = scope is not None and scope.startswith(f"{ScopeKind.SHARE}:")
    if actor.role is Role.PRACTITIONER and not sharing:
        return
    if actor.role in PARTICIPANT_ROLES and actor.id == participant_id:
        return
    raise Forbidden("a participant may withdraw only their own consent", field="participant_id")


def _withdraw_grant(
    state: ConsentState, cmd: WithdrawGrant, ctx: CommandContext
) -> list[DomainEvent]:
    grant = state.grants.get(cmd.grant_id)
    # Another participant's grant reads as "not found": its existence is not theirs to learn (R8).
    foreign = (
        grant is not None
        and ctx.actor.role in PARTICIPANT_ROLES
        and grant.participant_id != ctx.actor.id
    )
    if grant is None or foreign:
        raise NotFound("no such consent grant in this case", field="grant_id")
    _check_withdrawer(ctx.actor, grant.participant_id, grant.scope)
    if grant.status is not GrantStatus.ACTIVE:
        return []  # already ended: a second, concurrent withdrawal changes nothing
    return _withdrawal(grant.participant_id, WithdrawalTarget.GRANT, [grant], cmd.reason)


def _withdraw_scope(
    state: ConsentState, cmd: WithdrawScope, ctx: CommandContext
) -> list[DomainEvent]:
    _check_withdrawer(ctx.actor, cmd.participant_id, cmd.scope)
    grants = [g for g in active_grants(state, cmd.participant_id) if g.scope == cmd.scope]
    target = WithdrawalTarget.SCOPE
    return _withdrawal(cmd.participant_id, target, grants, cmd.reason, scope=cmd.scope)


def _withdraw_all(state: ConsentState, cmd: WithdrawAll, ctx: CommandContext) -> list[DomainEvent]:
    _check_withdrawer(ctx.actor, cmd.participant_id)
    grants = active_grants(state, cmd.participant_id)
    return _withdrawal(cmd.participant_id, WithdrawalTarget.EVERYTHING, grants, cmd.reason)


def _withdrawal(
    participant_id: str,
    target: WithdrawalTarget,
    grants: list[Grant],
    reason: str | None,
    scope: str | None = None,
) -> list[DomainEvent]:
    """One event per act of withdrawal, listing every grant it ends (an expired one whose lapse
    is not yet recorded too). Nothing left to end: nothing to record, and no error."""
    if not grants:
        return []
    refs = tuple(GrantRef(grant_id=g.grant_id, scope=g.scope) for g in grants)
    return [
        ev.ConsentWithdrawn(
            participant_id=participant_id, target=target, scope=scope, grants=refs, reason=reason
        )
    ]


def _lapse(state: ConsentState, _: LapseDueGrants, ctx: CommandContext) -> list[DomainEvent]:
    now = ctx.now
    due = sorted(
        (
            g
            for g in state.grants.values()
            if g.status is GrantStatus.ACTIVE and g.expires_at is not None and g.expires_at <= now
        ),
        key=lambda g: (g.expires_at, str(g.grant_id)),
    )
    return [
        ev.ConsentLapsed(
            grant_id=g.grant_id,
            participant_id=g.participant_id,
            scope=g.scope,
            expired_at=g.expires_at,
        )
        for g in due
    ]


def _report_incentive(
    state: ConsentState, cmd: ReportIncentive, ctx: CommandContext
) -> list[DomainEvent]:
    actor = ctx.actor
    # A participant reports about themself; reports about others go through a practitioner,
    # so that nobody can void another person's consent directly.
    own = actor.role in PARTICIPANT_ROLES and actor.id == cmd.participant_id
    if not own and actor.role not in (Role.PRACTITIONER, Role.COORDINATOR):
        raise Forbidden(
            "only the participant concerned or a practitioner may report an incentive",
            field="participant_id",
        )
    report_id = cmd.report_id or uuid5(ctx.correlation_id, f"incentive/{cmd.participant_id}")
    if report_id in state.incentive_reports:
        return []
    if cmd.grant_ids is None:
        tainted = active_grants(state, cmd.participant_id)
    else:
        for gid in cmd.grant_ids:
            g = state.grants.get(gid)
            if g is None or g.participant_id != cmd.participant_id:
                raise NotFound(
                    f"no grant {gid} of this participant in this case", field="grant_ids"
                )
        tainted = [
            state.grants[gid]
            for gid in cmd.grant_ids
            if state.grants[gid].status is GrantStatus.ACTIVE
        ]
    events: list[DomainEvent] = [
        ev.IncentiveReported(
            report_id=report_id,
            participant_id=cmd.participant_id,
            named_grant_ids=cmd.grant_ids,
            note=cmd.note,
        )
    ]
    if tainted:
        refs = tuple(GrantRef(grant_id=g.grant_id, scope=g.scope) for g in tainted)
        events.append(
            ev.ConsentInvalidated(
                participant_id=cmd.participant_id, report_id=report_id, grants=refs
            )
        )
    return events


def _record_acknowledgement(
    state: ConsentState, cmd: RecordAcknowledgement, ctx: CommandContext
) -> list[DomainEvent]:
    if ctx.actor.role is not Role.PRACTITIONER:
        raise Forbidden(
            "only a practitioner records an acknowledgement of harm", field="responsible_person_id"
        )
    rp = cmd.responsible_person_id
    # Acknowledgement is part of the process: the person must be taking part, as the responsible
    # person, by their own consent in force now.
    taking_part = any(
        g.scope == TAKE_PART and g.participant_role is Role.RESPONSIBLE_PERSON
        for g in active_grants(state, rp, at=ctx.now)
    )
    if not taking_part:
        raise Rejected(
            "this person has no consent in force to take part as the responsible person",
            field="responsible_person_id",
        )
    if acknowledgement_stands(state, rp):
        return []
    return [ev.AcknowledgementRecorded(responsible_person_id=rp, basis=cmd.basis, note=cmd.note)]


def _withdraw_acknowledgement(
    state: ConsentState, cmd: WithdrawAcknowledgement, ctx: CommandContext
) -> list[DomainEvent]:
    actor, rp = ctx.actor, cmd.responsible_person_id
    themself = actor.role is Role.RESPONSIBLE_PERSON and actor.id == rp
    if not themself and actor.role is not Role.PRACTITIONER:
        raise Forbidden(
            "only the responsible person or a practitioner may withdraw an acknowledgement",
            field="responsible_person_id",
        )
    if rp not in state.acknowledgements:
        raise NotFound(
            "no acknowledgement was recorded for this person", field="responsible_person_id"
        )
    if not acknowledgement_stands(state, rp):
        return []
    return [ev.AcknowledgementWithdrawn(responsible_person_id=rp, ground=cmd.ground, note=cmd.note)]


# Each command's decision, by the command's type (as in every service's domain).
_HANDLERS: dict[type, Callable[[ConsentState, Any, CommandContext], list[DomainEvent]]] = {
    GiveConsent: _give,
    UnderConsentRules: _give_under_rules,
    WithdrawGrant: _withdraw_grant,
    WithdrawScope: _withdraw_scope,
    WithdrawAll: _withdraw_all,
    LapseDueGrants: _lapse,
    ReportIncentive: _report_incentive,
    RecordAcknowledgement: _record_acknowledgement,
    WithdrawAcknowledgement: _withdraw_acknowledgement,
}

decider: Decider[ConsentState] = Decider(initial=initial, evolve=evolve, decide=decide)
