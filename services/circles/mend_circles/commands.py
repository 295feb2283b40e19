"""Command models. Request bodies carry only what a person says; facts from other services (the
invited person's role in their case, the consent grant in force, whether an acknowledgement
stands) are added by the application layer from its projections, never taken from a body, or a
client could simply claim consent."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId, Role
from mend_events.contracts.catalog.circles import CircleKind, HaltCause
from mend_events.web.inputs import CaseIdValue, Moment
from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# A chosen display name: short, one line; sealed under the member's key when recorded.
Alias = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\n\r\t]+$"),
]


# --- request bodies ---------------------------------------------------------------------------


class FormCircle(_Command):
    kind: CircleKind


class InviteBody(_Command):
    person_id: PseudoId
    case_id: CaseIdValue  # the case the person takes part in (their consent lives there)


class JoinBody(_Command):
    alias: Alias | None = None


class LeaveBody(_Command):
    person_id: PseudoId | None = None  # the facilitator relaying a member's word names them


class ScheduleSession(_Command):
    session_id: UUID
    starts_at: Moment


class CloseCircle(_Command):
    pass


# --- commands the application layer completes -------------------------------------------------


class InviteMember(_Command):
    person_id: PseudoId
    case_id: CaseIdValue
    person_role: Role  # from the case's own events (the case directory)
    case_agency: str  # likewise


class JoinCircle(_Command):
    alias: str | None = None
    grant_id: UUID | None = None  # the circle consent in force (None: there is none)
    acknowledgement_stands: bool = False  # for a responsible person (consent projection)


class LeaveCircle(_Command):
    person_id: PseudoId


class HoldSession(_Command):
    session_id: UUID


class HaltSession(_Command):
    session_id: UUID


class HaltParticipation(_Command):
    """From a consent service event (a reaction, never a request)."""

    person_id: PseudoId
    cause: HaltCause
    cause_event_id: UUID
    grant_ids: Annotated[tuple[UUID, ...], Field(max_length=1000)] = ()
