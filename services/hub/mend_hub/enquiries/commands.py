"""What a client sends about enquiries, and the domain commands made from it. The contact
fields are personal text: bounded, single-line, sealed under the enquiry's own key."""

from __future__ import annotations

from dataclasses import dataclass

from mend_events.contracts.actors import AgencyId, PseudoId
from mend_events.contracts.catalog.hub import (
    ContactChannel,
    ContactReadPurpose,
    EnquiryOutcome,
    EnquiryRoute,
    EnquiryTopic,
)
from pydantic import BaseModel, ConfigDict, Field

from mend_hub.people.commands import LongText


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnquiryContactBody(_Body):
    """`PUT /enquiries/{ref}/contact`: how they may be contacted back, if at all."""

    channel: ContactChannel
    address: LongText
    safe_times: LongText | None = None
    may_leave_messages: bool = False


class EnquiryBody(_Body):
    """`POST /enquiries`: the route, what they asked about, and (only if they want it) how to
    contact them back. The reference is made by the server."""

    route: EnquiryRoute
    referring_agency: AgencyId | None = None
    contact_person_id: PseudoId | None = None
    topics: tuple[EnquiryTopic, ...] = Field(min_length=1, max_length=len(EnquiryTopic))
    contact: EnquiryContactBody | None = None


class OutcomeBody(_Body):
    outcome: EnquiryOutcome


@dataclass(frozen=True, slots=True)
class RecordEnquiry:
    ref: str
    agency: str
    body: EnquiryBody


@dataclass(frozen=True, slots=True)
class EraseContact:
    pass


@dataclass(frozen=True, slots=True)
class RegisterEnquirer:
    pass


@dataclass(frozen=True, slots=True)
class ReadContact:
    purpose: ContactReadPurpose
