"""One enquiry's stream (`enquiry:<agency>:<ref>`): the pure fold and decisions.

The state knows the route, the topics, whether a way back exists (by channel only), the outcome
and, once the enquirer chose it, the person they became; never an address or a name. Who may
ask for each decision is the policy's (`policy`); the decisions here hold whoever asks: an
enquiry is recorded once, its contact can be erased at any time, and only the enquirer
themself links it to a person."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.contracts.catalog.hub import (
    ContactChannel,
    EnquirerRegistered,
    EnquiryContactErased,
    EnquiryContactRead,
    EnquiryContactRecorded,
    EnquiryOutcome,
    EnquiryOutcomeRecorded,
    EnquiryRecorded,
    EnquiryRoute,
    EnquiryTopic,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected

from mend_hub.enquiries.commands import (
    EnquiryBody,
    EnquiryContactBody,
    EraseContact,
    OutcomeBody,
    ReadContact,
    RecordEnquiry,
    RegisterEnquirer,
)


@dataclass(frozen=True, slots=True)
class EnquiryState:
    stream_id: str
    ref: str | None = None
    agency: str | None = None
    route: EnquiryRoute | None = None
    referring_agency: str | None = None
    contact_person_id: str | None = None
    topics: tuple[EnquiryTopic, ...] = ()
    contact: ContactChannel | None = None  # a way back exists (its channel), not erased
    contact_erased: bool = False
    outcome: EnquiryOutcome | None = None
    person_id: str | None = None  # whom the enquirer chose to become

    @property
    def recorded(self) -> bool:
        return self.ref is not None


def initial(stream_id: str) -> EnquiryState:
    return EnquiryState(stream_id=stream_id)


def evolve(state: EnquiryState, event: DomainEvent, meta: Metadata) -> EnquiryState:
    match event:
        case EnquiryRecorded():
            return replace(state, ref=event.enquiry_ref, agency=event.agency_id,
                           route=event.route, referring_agency=event.referring_agency,
                           contact_person_id=event.contact_person_id,
                           topics=event.topics)  # fmt: skip
        case EnquiryContactRecorded():
            return replace(state, contact=event.channel, contact_erased=False)
        case EnquiryContactErased():
            return replace(state, contact=None, contact_erased=True)
        case EnquiryOutcomeRecorded():
            return replace(state, outcome=event.outcome)
        case EnquirerRegistered():
            return replace(state, person_id=event.person_id)
    return state


def _record(state: EnquiryState, command: RecordEnquiry) -> list[DomainEvent]:
    body = command.body
    if body.route is EnquiryRoute.AGENCY and body.referring_agency is None:
        raise Rejected("name the organisation that put them in touch", field="referring_agency")
    if body.route is EnquiryRoute.SELF and (body.referring_agency or body.contact_person_id):
        raise Rejected("a self-referral names no referring organisation", field="route")
    topics = tuple(sorted(set(body.topics)))
    if state.recorded:
        asked = (body.route, body.referring_agency, body.contact_person_id, topics)
        if asked == (state.route, state.referring_agency, state.contact_person_id, state.topics):
            return []  # a retry of the same record
        raise Conflict("this enquiry reference is taken", field="enquiry_ref")
    out: list[DomainEvent] = [
        EnquiryRecorded(enquiry_ref=command.ref, agency_id=command.agency, route=body.route,
                        referring_agency=body.referring_agency,
                        contact_person_id=body.contact_person_id, topics=topics)
    ]  # fmt: skip
    if body.contact is not None:
        out.append(EnquiryContactRecorded(enquiry_ref=command.ref, **body.contact.model_dump()))
    return out


def decide(state: EnquiryState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(command, RecordEnquiry):
        return _record(state, command)
    if not state.recorded:
        raise NotFound("no enquiry with this reference", field="enquiry_ref")
    ref = state.ref
    assert ref is not None
    if isinstance(command, ReadContact):
        # Every read is recorded, a repeated one too (as for a person's contact routes, R8).
        if state.contact is None:
            raise NotFound("there is no way back to this enquirer", field="contact")
        return [EnquiryContactRead(enquiry_ref=ref, purpose=command.purpose)]
    if isinstance(command, EnquiryContactBody):
        return [EnquiryContactRecorded(enquiry_ref=ref, **command.model_dump())]
    if isinstance(command, EraseContact):
        if state.contact is None and state.contact_erased:
            return []  # erased already, nothing recorded since
        return [EnquiryContactErased(enquiry_ref=ref)]
    if isinstance(command, OutcomeBody):
        if state.outcome is command.outcome:
            return []
        return [EnquiryOutcomeRecorded(enquiry_ref=ref, outcome=command.outcome)]
    if isinstance(command, RegisterEnquirer):
        # Only the enquirer's own act links the enquiry to a person: the account opened from
        # the enquiry's activation code is the enquiry's reference.
        if ctx.actor.role not in PARTICIPANT_ROLES or ctx.actor.id != ref:
            raise Forbidden("only the enquirer may choose to become a registered person")
        if state.person_id is not None:
            return []
        return [EnquirerRegistered(enquiry_ref=ref, person_id=ctx.actor.id)]
    raise TypeError(f"unknown command {type(command).__name__}")


decider: Decider[EnquiryState] = Decider(initial=initial, evolve=evolve, decide=decide)

__all__ = ["EnquiryBody", "EnquiryState", "decide", "decider", "evolve", "initial"]
