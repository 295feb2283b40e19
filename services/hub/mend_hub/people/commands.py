"""What a client sends to the people directory, and the domain commands made from it.

Personal text is bounded and single-line; a refusal names the field and the rule, never the
value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.hub import ContactChannel, ContactReadPurpose, PersonKind
from pydantic import BaseModel, ConfigDict, StringConstraints

# No control characters: a line break in a name or a number is a slip, or a forged log line.
_ONE_LINE = r"^[^\x00-\x1f\x7f]+$"
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=_ONE_LINE)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_ONE_LINE)
]


class RegisterPerson(BaseModel):
    """`POST /people`: a participant enters the caller's agency's directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: PseudoId
    kind: PersonKind = PersonKind.PARTICIPANT


class RecordDetails(BaseModel):
    """`PUT /people/{person}/details`: the whole record as it is now (a field left out is not
    given, or no longer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ShortText | None = None
    preferred_name: ShortText | None = None
    pronouns: ShortText | None = None
    language: ShortText | None = None
    interpreter_needs: LongText | None = None
    accessibility_needs: LongText | None = None
    cultural_needs: LongText | None = None


class ContactRouteBody(BaseModel):
    """`POST /people/{person}/contact-routes`: one safe way to reach the person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ContactChannel
    address: LongText
    safe_times: LongText | None = None
    may_leave_messages: bool = False
    who_knows: LongText | None = None


@dataclass(frozen=True, slots=True)
class Register:
    person_id: str
    agency: str
    kind: PersonKind


@dataclass(frozen=True, slots=True)
class AddRoute:
    route_id: UUID  # made by the server, never the client
    route: ContactRouteBody


@dataclass(frozen=True, slots=True)
class RemoveRoute:
    route_id: UUID


@dataclass(frozen=True, slots=True)
class RecordRead:
    """A read of the contact details, recorded before anything is shown."""

    purpose: ContactReadPurpose
    via_case: str | None = None


__all__ = [
    "AddRoute",
    "ContactRouteBody",
    "RecordDetails",
    "RecordRead",
    "Register",
    "RegisterPerson",
    "RemoveRoute",
]
