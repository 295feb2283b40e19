"""The circles service's events: peer support circles across cases (issue 21).

A circle is a group of people from different cases, of one agency, run by a facilitator (a
practitioner of that agency). One stream per circle; the stream id is the circle id
(`circle-...`), never a case id. People join only by invitation and only with their own consent
in force for the scope `circle:<circle id>` (consent catalog), which lives in their own case's
consent stream; the case id of each member is recorded at invitation (so a replay can tell
which consent it was), and it is the circles service's to keep: no member ever reads another's.

Members are known to each other only by a per-circle alias: the display name a member chose when
joining (sealed under their own data key), or their seat ("Member 3") when they chose none.

Like contact (DOMAIN.md R2, R3): anyone in a circle may halt one of its sessions and owe no
reason, a halted session never resumes (it is scheduled again); a member may leave at any
moment; a withdrawal (or lapse, or invalidation) of the member's circle consent halts their
participation at once, as a recorded consequence naming the consent event that caused it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from mend_events.contracts.actors import AgencyId, PseudoId, Role
from mend_events.contracts.catalog.consent import CIRCLE_ID_PATTERN
from mend_events.contracts.events import DomainEvent, PersonalText, registry

CircleIdValue = Annotated[str, StringConstraints(pattern=CIRCLE_ID_PATTERN)]
# A member's seat in a circle: numbered from 1 in order of first invitation, kept for good.
Seat = Annotated[int, Field(ge=1, le=10_000)]


class CircleKind(StrEnum):
    SURVIVORS = "survivors"  # harmed persons
    RESPONSIBLE_PERSONS = "responsible_persons"  # e.g. circles of support and accountability
    BLENDED = "blended"  # harmed and responsible persons of different cases
    PARTNERS_AND_FAMILY = "partners_and_family"  # supporters: partners, family


# Who may be invited to a circle of each kind, by their role in their own case.
ROLES_OF_KIND: dict[CircleKind, frozenset[Role]] = {
    CircleKind.SURVIVORS: frozenset({Role.HARMED_PERSON}),
    CircleKind.RESPONSIBLE_PERSONS: frozenset({Role.RESPONSIBLE_PERSON}),
    CircleKind.BLENDED: frozenset({Role.HARMED_PERSON, Role.RESPONSIBLE_PERSON}),
    CircleKind.PARTNERS_AND_FAMILY: frozenset({Role.SUPPORTER}),
}


class HaltCause(StrEnum):
    """Why a member's participation was halted by the service (always a recorded cause)."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_LAPSED = "consent_lapsed"
    CONSENT_INVALIDATED = "consent_invalidated"  # an incentive was reported (R1)
    ACKNOWLEDGEMENT_WITHDRAWN = "acknowledgement_withdrawn"  # a responsible person's


@registry.register
class CircleFormed(DomainEvent):
    """A circle was formed in an agency, with its facilitator (the practitioner forming it)."""

    event_type = "CircleFormed"
    schema_version = 1

    kind: CircleKind
    facilitator_id: PseudoId
    agency: AgencyId


@registry.register
class MemberInvited(DomainEvent):
    """The facilitator invited a person, who takes part in `case_id` in `person_role`. An
    invitation obliges nothing: the person joins only by their own act, with consent."""

    event_type = "MemberInvited"
    schema_version = 1

    person_id: PseudoId
    person_role: Role
    case_id: Annotated[str, StringConstraints(pattern=r"^case-[A-Za-z0-9_-]{4,64}$")]
    seat: Seat


@registry.register
class MemberJoined(DomainEvent):
    """The invited person joined, themself, under their circle consent grant in force
    (`grant_id`). `alias`: the display name they chose for this circle, sealed under their key;
    none: they are shown by their seat."""

    event_type = "MemberJoined"
    schema_version = 1
    personal_fields = ("alias",)
    personal_owner = "person_id"

    person_id: PseudoId
    grant_id: UUID
    alias: PersonalText | None = None


@registry.register
class MemberLeft(DomainEvent):
    """A member (or an invited person) left, at their word (relayed by the facilitator or
    not); no reason is owed, none is recorded."""

    event_type = "MemberLeft"
    schema_version = 1

    person_id: PseudoId


@registry.register
class MemberParticipationHalted(DomainEvent):
    """A member's participation stopped at once because the consent they joined under ended
    (or, for a responsible person, their acknowledgement no longer stands). `cause_event_id` is
    the consent service's event that caused it (also the envelope's causation id)."""

    event_type = "MemberParticipationHalted"
    schema_version = 1

    person_id: PseudoId
    cause: HaltCause
    cause_event_id: UUID
    grant_id: UUID | None = None


@registry.register
class CircleSessionScheduled(DomainEvent):
    """The facilitator scheduled a meeting of the circle."""

    event_type = "CircleSessionScheduled"
    schema_version = 1

    session_id: UUID
    starts_at: AwareDatetime


@registry.register
class CircleSessionHeld(DomainEvent):
    """The meeting took place; `attended`: the seats of the members present."""

    event_type = "CircleSessionHeld"
    schema_version = 1

    session_id: UUID
    attended: tuple[Seat, ...] = ()


@registry.register
class CircleSessionHalted(DomainEvent):
    """Someone halted a meeting (the facilitator or any member, no reason owed; R3). It never
    resumes: a new meeting is scheduled."""

    event_type = "CircleSessionHalted"
    schema_version = 1

    session_id: UUID


@registry.register
class CircleClosed(DomainEvent):
    """The facilitator closed the circle: every membership and meeting ends with it."""

    event_type = "CircleClosed"
    schema_version = 1
