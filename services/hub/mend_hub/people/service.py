"""The people directory's application layer (no SQL, no HTTP): who may act is decided by
`policy`, what happens by `domain`, what is shown by `sealed`."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

from mend_events.commands.decider import CommandContext
from mend_events.commands.idempotency import IDS, RequestKey, key_seed
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.catalog.hub import ContactReadPurpose, person_stream
from mend_events.errors import NotFound
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity
from mend_events.store import EventStore
from mend_events.web.commands import request_digest
from pydantic import BaseModel

from mend_hub.people import policy, sealed
from mend_hub.people.commands import (
    AddRoute,
    ContactRouteBody,
    RecordDetails,
    RecordRead,
    Register,
    RegisterPerson,
    RemoveRoute,
)
from mend_hub.people.domain import PersonState, decider
from mend_hub.people.relations import Relations


def _not_in_directory() -> NotFound:
    return NotFound("no person with this id is in the directory", field="person_id")


class PeopleService:
    def __init__(self, store: EventStore, sealer: FieldSealer, relations: Relations) -> None:
        self.store = store
        self.sealer = sealer
        self.relations = relations
        self.commands: CommandService[PersonState] = CommandService(store, decider)

    async def _allowed(
        self, identity: Identity, person_id: str, action: str
    ) -> tuple[PersonState, tuple[str, ...]]:
        """The person's state and the cases linking the caller to them; raises unless the
        caller may take `action` on the person's record (404: no such person here)."""
        state, _ = await self.commands.load(person_stream(person_id))
        if not state.registered or state.agency is None:
            raise _not_in_directory()
        via: tuple[str, ...] = ()
        if policy.needs_cases(identity) and identity.agency == state.agency:
            via = await self.relations.via_cases(identity.person_id, person_id, state.agency)
        policy.authorize(identity, action, person_id=person_id, agency=state.agency, via_cases=via)
        return state, via

    async def request_key(
        self,
        ctx: CommandContext,
        key: str | None,
        route: str,
        person_id: str,
        body: BaseModel,
        personal: tuple[str, ...],
    ) -> RequestKey | None:
        """An idempotency key bound to this request by a digest in which each personal field
        is first sealed under the person's data key.

        Why: the store keeps the digest a key is bound to for good, and a plain digest of a
        phone number is a fingerprint anyone holding the table can test guesses against (ten
        digits are a small space), before and after an erasure. Sealing is deterministic for
        one key and context, so a retry still matches; once the person's keys are destroyed
        no guess can be tested."""
        if key is None:
            return None
        data = body.model_dump(mode="json")
        seed = key_seed(ctx, key)
        for name in personal:
            if data.get(name) is None:
                continue
            sealed = await self.sealer.seal_text(
                data[name],
                owner=person_id,
                agency=ctx.actor.agency,
                stream_id=person_stream(person_id),
                event_id=uuid5(IDS, f"request:{seed}"),
                event_type=f"request:{route}",
                schema_version=1,
                field=name,
            )
            data[name] = sealed.ct
        return RequestKey(key, request_digest(route, {"person_id": person_id}, data))

    # ---- changes

    async def register(
        self, identity: Identity, ctx: CommandContext, body: RegisterPerson, key: Any = None
    ) -> CommandResult[PersonState]:
        stream = person_stream(body.person_id)
        state, _ = await self.commands.load(stream)
        agency = state.agency if state.registered else identity.agency
        policy.authorize(identity, policy.REGISTER, person_id=body.person_id, agency=agency)
        command = Register(body.person_id, identity.agency, body.kind)
        return await self.commands.execute(stream, command, ctx, idempotency_key=key)

    async def record_details(
        self,
        identity: Identity,
        ctx: CommandContext,
        person_id: str,
        body: RecordDetails,
        idempotency_key: str | None = None,
    ) -> CommandResult[PersonState]:
        await self._allowed(identity, person_id, policy.WRITE)
        key = await self.request_key(
            ctx, idempotency_key, "people.details", person_id, body, sealed.DETAIL_FIELDS
        )
        return await self.commands.execute(person_stream(person_id), body, ctx, idempotency_key=key)

    async def add_route(
        self,
        identity: Identity,
        ctx: CommandContext,
        person_id: str,
        body: ContactRouteBody,
        idempotency_key: str | None = None,
    ) -> tuple[CommandResult[PersonState], UUID]:
        """The result and the new route's id: made by the server, and derived from the
        idempotency key when there is one, so a retried request names the same route."""
        await self._allowed(identity, person_id, policy.WRITE)
        key = await self.request_key(
            ctx, idempotency_key, "people.route", person_id, body, sealed.ROUTE_FIELDS
        )
        route_id = uuid5(IDS, f"route:{key_seed(ctx, key)}") if key is not None else uuid4()
        command = AddRoute(route_id, body)
        result = await self.commands.execute(
            person_stream(person_id), command, ctx, idempotency_key=key
        )
        return result, route_id

    async def remove_route(
        self, identity: Identity, ctx: CommandContext, person_id: str, route_id: Any
    ) -> CommandResult[PersonState]:
        await self._allowed(identity, person_id, policy.WRITE)
        return await self.commands.execute(person_stream(person_id), RemoveRoute(route_id), ctx)

    # ---- reads

    async def details(self, identity: Identity, person_id: str) -> dict[str, Any]:
        state, _ = await self._allowed(identity, person_id, policy.READ_DETAILS)
        events = await self.store.read_stream(person_stream(person_id))
        opened = await sealed.open_details(self.sealer, sealed.stored_record(events))
        return {"person_id": person_id, "agency": state.agency, "kind": state.kind, **opened}

    async def contact(
        self,
        identity: Identity,
        ctx: CommandContext,
        person_id: str,
        purpose: ContactReadPurpose,
    ) -> dict[str, Any]:
        """The contact routes, shown only once the read is recorded (R8).

        The read is `ContactDetailsRead`, appended to the person's stream at the version the
        decision saw (the store's expected-version check), and what is shown is the stream
        exactly up to that event: the record names precisely the routes disclosed, and if the
        record cannot be written nothing is opened. A failure after the record (a database
        gone between the two statements) leaves a recorded read that showed nothing: the
        safe side of the two."""
        _, via = await self._allowed(identity, person_id, policy.READ_CONTACT)
        stream = person_stream(person_id)
        command = RecordRead(purpose, via[0] if via else None)
        result = await self.commands.execute(stream, command, ctx)
        (read,) = result.events
        events = await self.store.read_stream(stream)
        shown = sealed.stored_record(e for e in events if e.stream_version < result.version)
        routes, erased = await sealed.open_routes(self.sealer, shown)
        return {
            "person_id": person_id,
            "read_id": str(read.event_id),
            "purpose": str(purpose),
            "via_case": command.via_case,
            "erased": erased,
            "routes": routes,
        }

    async def reads(self, identity: Identity, person_id: str) -> dict[str, Any]:
        """Who read the person's contact details: for their auditor, coordinator, themselves."""
        await self._allowed(identity, person_id, policy.READ_LOG)
        events = await self.store.read_stream(person_stream(person_id))
        return {"person_id": person_id, "reads": sealed.read_log(sealed.stored_record(events))}
