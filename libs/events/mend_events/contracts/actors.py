"""Who acts: roles and pseudonymous actors. Shared by events, identity and policy."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Pseudonymous identifiers only: short opaque tokens, never names or e-mail addresses.
PSEUDO_ID_PATTERN = r"^[a-z][a-z0-9_]{0,15}-[A-Za-z0-9_-]{4,64}$"
PseudoId = Annotated[str, StringConstraints(pattern=PSEUDO_ID_PATTERN)]
AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,63}$")]


class Role(StrEnum):
    HARMED_PERSON = "harmed_person"
    RESPONSIBLE_PERSON = "responsible_person"
    SUPPORTER = "supporter"
    INSTITUTION_REP = "institution_rep"
    VOLUNTEER = "volunteer"  # a vetted, trained community volunteer: sees only their part
    PRACTITIONER = "practitioner"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"
    OPERATOR = "operator"
    SYSTEM = "system"  # a reaction of a service to another event; its cause is the causation id


PARTICIPANT_ROLES = frozenset(
    {Role.HARMED_PERSON, Role.RESPONSIBLE_PERSON, Role.SUPPORTER, Role.INSTITUTION_REP}
)


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: PseudoId
    role: Role
    agency: AgencyId
