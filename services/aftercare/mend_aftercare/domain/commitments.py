"""Aftercare decisions on the commitments of an agreement, the progress updates the harmed
person may receive about them, and outcome measures. Pure; `decide.py` dispatches to them."""

from __future__ import annotations

from typing import Any

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import (
    CommitmentCompleted,
    CommitmentNotCompleted,
    CommitmentProgressed,
    CommitmentRecorded,
    CommitmentStatus,
    OutcomeMeasureRecorded,
    ProgressUpdateShared,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, NotFound, Rejected

from mend_aftercare import commands as c
from mend_aftercare.domain.rules import (
    _harmed_person,
    _is_harmed_person,
    _may_share,
    _require_role,
    _same_or_conflict,
)
from mend_aftercare.domain.state import (
    AftercareState,
    Commitment,
)

# --- commitments and progress updates -------------------------------------------------------


def record_commitment(
    s: AftercareState, cmd: c.RecordCommitment, ctx: CommandContext
) -> list[DomainEvent]:
    _require_role(ctx, Role.SYSTEM, Role.PRACTITIONER)
    existing = s.commitments.get(cmd.commitment_id)
    if existing is not None:
        wanted = (cmd.owner_id, cmd.code, cmd.due_on)
        return _same_or_conflict(
            (existing.owner_id, existing.code, existing.due_on), wanted, "commitment_id"
        )
    # Recorded even after closure: it is a fact of the agreement, and risk work may need it.
    return [CommitmentRecorded(**cmd.model_dump())]


def commitment_of(s: AftercareState, commitment_id: Any) -> Commitment:
    found = s.commitments.get(commitment_id)
    if found is None:
        raise NotFound("no such commitment in this case", field="commitment_id")
    return found


def record_progress(
    s: AftercareState, cmd: c.RecordCommitmentProgress, ctx: CommandContext
) -> list[DomainEvent]:
    _require_role(ctx, Role.PRACTITIONER)
    known = commitment_of(s, cmd.commitment_id)
    if known.finished:
        raise Rejected(f"this commitment is already {known.status}", field="commitment_id")
    if known.status is CommitmentStatus.PROGRESSED and known.progress is cmd.progress:
        return []  # a retry, or nothing new to tell anyone
    return [CommitmentProgressed(commitment_id=cmd.commitment_id, progress=cmd.progress)]


def finish_commitment(
    s: AftercareState,
    cmd: c.CompleteCommitment | c.RecordCommitmentNotCompleted,
    ctx: CommandContext,
    *,
    status: CommitmentStatus,
) -> list[DomainEvent]:
    _require_role(ctx, Role.PRACTITIONER)
    known = commitment_of(s, cmd.commitment_id)
    if known.status is status:
        return []
    if known.finished:
        raise Rejected(f"this commitment is already {known.status}", field="commitment_id")
    event = CommitmentCompleted if status is CommitmentStatus.COMPLETED else CommitmentNotCompleted
    return [event(commitment_id=cmd.commitment_id)]


def share_progress(
    s: AftercareState, cmd: c.ShareProgressUpdate, ctx: CommandContext
) -> list[DomainEvent]:
    _require_role(ctx, Role.SYSTEM, Role.PRACTITIONER)
    known = commitment_of(s, cmd.commitment_id)
    if known.status is not cmd.status or known.shared_revision >= known.revision:
        return []  # superseded by a later change, or already told
    if not _may_share(s, cmd.status, cmd.updates_consented_at_now):
        return []  # silence, not an error: the sender must not learn why
    return [
        ProgressUpdateShared(
            harmed_person_id=_harmed_person(s),
            commitment_id=cmd.commitment_id,
            status=cmd.status,
            commitment_revision=known.revision,
        )
    ]


# --- outcome measures -----------------------------------------------------------------------


def record_measure(
    s: AftercareState, cmd: c.RecordOutcomeMeasure, ctx: CommandContext
) -> list[DomainEvent]:
    _harmed_person(s)
    if not (_is_harmed_person(s, ctx) or ctx.actor.role is Role.PRACTITIONER):
        raise Forbidden("only the harmed person or their practitioner may record their answer")
    if not cmd.research_consent:
        raise Rejected(
            "the harmed person has not consented to outcome measures for research",
            field="research_consent",
        )
    recorded = s.outcomes.get((cmd.measure, cmd.point))
    if recorded is not None:
        if recorded != cmd.score:
            raise Rejected(
                "this measure is already recorded for this point; answers are never overwritten",
                field="score",
            )
        return []
    return [OutcomeMeasureRecorded(measure=cmd.measure, point=cmd.point, score=cmd.score)]
