"""Enquiries, the application layer (no SQL, no HTTP): who may act is `policy`'s, what happens
is `domain`'s. Every stream is the caller's own agency's (`enquiry_stream(identity.agency, ..)`),
so another agency's enquiry is simply not found."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid5

from mend_events.commands.decider import CommandContext
from mend_events.commands.idempotency import IDS, RequestKey, key_seed
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    ContactReadPurpose,
    EnquiryContactRecorded,
    PersonKind,
    enquiry_stream,
    person_stream,
)
from mend_events.errors import Conflict, NotFound
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.store import EventStore
from mend_events.web.commands import request_digest

from mend_hub.enquiries import policy
from mend_hub.enquiries.commands import (
    EnquiryBody,
    EnquiryContactBody,
    EraseContact,
    OutcomeBody,
    ReadContact,
    RecordEnquiry,
    RegisterEnquirer,
)
from mend_hub.enquiries.domain import EnquiryState, decider
from mend_hub.enquiries.index import EnquiryIndex
from mend_hub.people.commands import Register
from mend_hub.people.domain import PersonState

# (identity, agency, person id, role) -> the activation code's answer (sign-in's enrolment).
Invite = Callable[[Identity, str, str, Role], Awaitable[dict[str, Any]]]


def new_ref() -> str:
    """A pseudonymous reference nobody can guess (it is also the enquirer's account id)."""
    return f"enq-{secrets.token_hex(8)}"


def _not_found() -> NotFound:
    return NotFound("no enquiry with this reference", field="enquiry_ref")


def view(state: EnquiryState) -> dict[str, Any]:
    """Codes and ids only: never the way back itself."""
    return {
        "enquiry_ref": state.ref,
        "route": state.route,
        "referring_agency": state.referring_agency,
        "contact_person_id": state.contact_person_id,
        "topics": [str(t) for t in state.topics],
        "contact_channel": state.contact,
        "contact_erased": state.contact_erased,
        "outcome": state.outcome,
        "person_id": state.person_id,
    }


class EnquiryService:
    def __init__(
        self,
        store: EventStore,
        sealer: FieldSealer,
        index: EnquiryIndex,
        people: CommandService[PersonState],
        invite: Invite,
    ) -> None:
        self.store, self.sealer, self.index = store, sealer, index
        self.people, self.invite = people, invite
        self.commands: CommandService[EnquiryState] = CommandService(store, decider)

    async def _load(self, identity: Identity, ref: str, action: str) -> EnquiryState:
        policy.authorize(identity, action, agency=identity.agency, ref=ref)
        state, _ = await self.commands.load(enquiry_stream(identity.agency, ref))
        if not state.recorded:
            raise _not_found()
        return state

    async def _run(
        self, identity: Identity, ctx: CommandContext, ref: str, command: Any, action: str
    ) -> CommandResult[EnquiryState]:
        await self._load(identity, ref, action)
        return await self.commands.execute(enquiry_stream(identity.agency, ref), command, ctx)

    # ---- changes

    async def record(
        self, identity: Identity, ctx: CommandContext, body: EnquiryBody, key: str | None = None
    ) -> tuple[CommandResult[EnquiryState], str]:
        """A new enquiry under a fresh reference. An idempotency key is bound to the request
        without its contact (a digest of an address would be a fingerprint of it); a retry
        with the key finds the first answer."""
        policy.authorize(identity, policy.RECORD, agency=identity.agency)
        request, ref = None, new_ref()
        if key is not None:
            bare = body.model_copy(update={"contact": None})
            request = RequestKey(key, request_digest("enquiries.record", {}, bare))
            # The same key names the same enquiry: a retry lands on the first attempt's stream.
            ref = f"enq-{uuid5(IDS, f'enquiry:{key_seed(ctx, key)}').hex[:16]}"
        stream = enquiry_stream(identity.agency, ref)
        result = await self.commands.execute(
            stream, RecordEnquiry(ref, identity.agency, body), ctx, idempotency_key=request
        )
        return result, ref

    async def set_contact(
        self, identity: Identity, ctx: CommandContext, ref: str, body: EnquiryContactBody
    ) -> CommandResult[EnquiryState]:
        return await self._run(identity, ctx, ref, body, policy.WRITE)

    async def record_outcome(
        self, identity: Identity, ctx: CommandContext, ref: str, body: OutcomeBody
    ) -> CommandResult[EnquiryState]:
        return await self._run(identity, ctx, ref, body, policy.WRITE)

    async def erase_contact(
        self, identity: Identity, ctx: CommandContext, ref: str
    ) -> CommandResult[EnquiryState]:
        """The enquiry's own data key is destroyed first, then the erasure recorded: if the
        record fails the way back is unreadable all the same (the safe side)."""
        await self._load(identity, ref, policy.WRITE)
        await self.sealer.shred(ref, agency=identity.agency)
        return await self.commands.execute(
            enquiry_stream(identity.agency, ref), EraseContact(), ctx
        )

    async def offer_account(self, identity: Identity, ref: str, role: Role) -> dict[str, Any]:
        """An activation code for an account whose person id is the enquiry's reference: still
        anonymous, and theirs to use to become a registered person when they choose."""
        state = await self._load(identity, ref, policy.WRITE)
        if state.person_id is not None:
            raise Conflict("this enquirer is a registered person already", field="enquiry_ref")
        return await self.invite(identity, identity.agency, ref, role)

    async def register(self, identity: Identity, ctx: CommandContext, ref: str) -> dict[str, Any]:
        """The enquirer's own choice: they enter the people directory and the enquiry names
        them. Both decisions hold the actor to the enquirer themself."""
        result = await self._run(identity, ctx, ref, RegisterEnquirer(), policy.REGISTER)
        person = await self.people.execute(
            person_stream(ref), Register(ref, identity.agency, PersonKind.PARTICIPANT), ctx
        )
        return {
            "enquiry_ref": ref,
            "person_id": ref,
            "events": [
                {"event_id": str(e.event_id), "type": e.event_type}
                for e in (*result.events, *person.events)
            ],
        }

    # ---- reads

    async def read(self, identity: Identity, ref: str) -> dict[str, Any]:
        return view(await self._load(identity, ref, policy.READ))

    async def list(self, identity: Identity) -> list[dict[str, Any]]:
        policy.authorize(identity, policy.LIST, agency=identity.agency)
        out = []
        for stream in await self.index.streams(identity.agency):
            state, _ = await self.commands.load(stream)
            if state.recorded:
                out.append(view(state))
        return out

    async def contact(
        self, identity: Identity, ctx: CommandContext, ref: str, purpose: ContactReadPurpose
    ) -> dict[str, Any]:
        """The way back, shown only once the read is recorded, and exactly as it stood then."""
        result = await self._run(identity, ctx, ref, ReadContact(purpose), policy.READ_CONTACT)
        (read,) = result.events
        shown = None
        for e in await self.store.read_stream(enquiry_stream(identity.agency, ref)):
            if e.stream_version >= result.version:
                break
            if e.event_type == EnquiryContactRecorded.event_type:
                shown = e
        opened = (
            await self.sealer.open_recorded(shown, personal_owner="enquiry_ref") if shown else {}
        )
        fields = ("channel", "address", "safe_times", "may_leave_messages")
        return {"enquiry_ref": ref, "read_id": str(read.event_id),
                **{f: opened.get(f) for f in fields}}  # fmt: skip
