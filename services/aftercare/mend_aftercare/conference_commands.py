"""Commands on a case's community team conferences (issue 21). Request bodies carry codes, ids,
times and the minutes' words (sealed by the store, never logged); facts the domain cannot know
(the harmed person, her participation consent now) are filled by the application layer from
projections, never taken from a request body."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.aftercare import (
    CommitmentCode,
    ConferenceActionKind,
    ConferenceCadence,
    ConferenceCancelCause,
    ConferenceMemberRole,
    ConferenceNeed,
    InvitationAnswer,
    PlanRole,
    ReferralKind,
    Zone,
)
from mend_events.web.inputs import Day, Moment
from pydantic import BaseModel, ConfigDict, Field

# Free text of a meeting: bounded, sealed under the harmed person's key by the store.
Words = Annotated[str, Field(min_length=1, max_length=20_000)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- request bodies -----------------------------------------------------------------------------


class ConferenceBody(_Command):
    conference_id: Annotated[str, Field(pattern=r"^conf-[A-Za-z0-9_-]{4,64}$")]
    starts_at: Moment
    zone: Zone
    cadence: ConferenceCadence = ConferenceCadence.ONCE


class InviteMember(_Command):
    member_id: PseudoId
    member_role: ConferenceMemberRole


class AnswerInvitation(_Command):
    answer: InvitationAnswer


class HoldConference(_Command):
    held_at: Moment
    attendee_ids: tuple[PseudoId, ...] = Field(default=(), max_length=50)
    needs: tuple[ConferenceNeed, ...] = Field(default=(), max_length=20)
    minutes: Words | None = None
    updates: Words | None = None
    successes: Words | None = None
    further_needs: Words | None = None


class AgreeAction(_Command):
    """One action agreed at the conference's latest meeting. Per kind: a commitment names its
    code (its owner is the assignee); a check-in its participant and `due_at`; a referral its
    participant, kind and `due_on` (the assignee follows it up)."""

    action_id: UUID
    kind: ConferenceActionKind
    assignee_id: PseudoId
    participant_id: PseudoId | None = None
    participant_role: PlanRole | None = None
    commitment_code: CommitmentCode | None = None
    referral_kind: ReferralKind | None = None
    due_on: Day | None = None
    due_at: Moment | None = None


class CancelConference(_Command):
    """By the team; no reason owed."""


# --- built by the application layer --------------------------------------------------------------


class ScheduleConference(ConferenceBody):
    harmed_person_id: PseudoId | None  # the case's, from aftercare's stream or the directory
    participation_consent: bool  # her take_part consent in force now (ConsentFacts)


class AnswerFor(AnswerInvitation):
    conference_id: str
    member_id: PseudoId


class InviteTo(InviteMember):
    conference_id: str


class HoldMeeting(HoldConference):
    conference_id: str


class AgreeActionAt(AgreeAction):
    conference_id: str


class CancelOne(_Command):
    conference_id: str


class CancelConferences(_Command):
    """Every conference still to meet, cancelled because of `cause_event_id` (a reaction)."""

    cause: ConferenceCancelCause
    cause_event_id: UUID
