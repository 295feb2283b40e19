"""The circles application layer (HTTP-free, no SQL): commands completed with facts from the
projections, the halt reaction, and the views each caller may have.

What a member is shown of a circle is built here from an allowlist, not by removing fields:
the circle's kind and state, its meetings, and each member by seat and alias. Never a person
id, a case id, a role or a consent: a member never learns another member's case, harm or
contact details through this service (issue 21)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.catalog import circles as ev
from mend_events.contracts.catalog.consent import GrantRef
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Rejected
from mend_events.security.cases import CaseDirectory, KnowsCases
from mend_events.security.crypto.sealer import FieldSealer
from mend_events.security.identity import Identity
from mend_events.store import EventStore

from mend_circles import access
from mend_circles import commands as c
from mend_circles.domain import CircleState, Member, Standing, decider
from mend_circles.read_models import CircleConsent, CircleIndex, circle_of

SERVICE = "circles"
_HALT_CAUSES = {
    "ConsentWithdrawn": ev.HaltCause.CONSENT_WITHDRAWN,
    "ConsentLapsed": ev.HaltCause.CONSENT_LAPSED,
    "ConsentInvalidated": ev.HaltCause.CONSENT_INVALIDATED,
}


class CirclesService(KnowsCases):
    def __init__(
        self,
        store: EventStore,
        directory: CaseDirectory,
        consent: CircleConsent,
        index: CircleIndex,
        settle: Any,
        sealer: FieldSealer | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.consent = consent
        self.index = index
        self.settle = settle
        self.sealer = sealer
        self.commands: CommandService[CircleState] = CommandService(store, decider)

    async def load(self, circle_id: str) -> CircleState:
        state, _ = await self.commands.load(circle_id)
        return state

    # --- commands completed with facts ----------------------------------------------------------

    async def invite(
        self, circle_id: str, body: c.InviteBody, ctx: CommandContext, identity: Identity, key: Any
    ) -> CommandResult[CircleState]:
        """The invited person's role in their case, and its agency, from the case's own events
        (a client names the person and the case; it cannot claim the role). Only a facilitator
        allocated to that case may name its people (access.authorize_invitation): others may
        not learn who takes part in it."""
        entry = access.authorize_invitation(identity, await self.case(body.case_id))
        role = entry.role_of(body.person_id)
        if role is None:
            raise Rejected("this person takes part in no such case here", field="person_id")
        cmd = c.InviteMember(
            person_id=body.person_id, case_id=body.case_id, person_role=role,
            case_agency=entry.agency,
        )  # fmt: skip
        return await self.commands.execute(circle_id, cmd, ctx, idempotency_key=key)

    async def join(
        self, circle_id: str, body: c.JoinBody, ctx: CommandContext, key: Any
    ) -> CommandResult[CircleState]:
        """Join under the circle consent in force, read FOR SHARE and held until the append has
        committed (read_models: a withdrawal in flight either waits for it or refuses it)."""
        state = await self.load(circle_id)
        member = state.member(ctx.actor.id)
        async with self.store.pool.acquire() as conn, conn.transaction():
            grant = ack = None
            if member is not None:
                grant = await self.consent.grant_in_force(
                    conn, circle_id, member.case_id, member.person_id, ctx.now
                )
                ack = await self.consent.acknowledged(conn, member.case_id, member.person_id)
            cmd = c.JoinCircle(alias=body.alias, grant_id=grant, acknowledgement_stands=bool(ack))
            return await self.commands.execute(circle_id, cmd, ctx, idempotency_key=key, conn=conn)

    # --- reactions ---------------------------------------------------------------------------

    async def halt_for(self, event: RecordedEvent, ended: list[GrantRef], now: datetime) -> int:
        """Halt each participation the circle grants `ended` (by `event`) were joined under:
        at once, once (the domain's and the derived ids' idempotency), naming the cause."""
        person = event.data.get("participant_id")
        halted = 0
        for ref in ended:
            circle = circle_of(ref.scope)
            if circle is None or person is None:
                continue
            cmd = c.HaltParticipation(
                person_id=person, cause=_HALT_CAUSES[event.event_type],
                cause_event_id=event.event_id, grant_ids=(ref.grant_id,),
            )  # fmt: skip
            halted += await self._halt(circle, cmd, event, now)
        return halted

    async def halt_unacknowledged(
        self, event: RecordedEvent, circles: list[str], person: str, now: datetime
    ) -> int:
        cmd = c.HaltParticipation(
            person_id=person, cause=ev.HaltCause.ACKNOWLEDGEMENT_WITHDRAWN,
            cause_event_id=event.event_id,
        )  # fmt: skip
        return sum([await self._halt(circle, cmd, event, now) for circle in circles])

    async def _halt(
        self, circle: str, cmd: c.HaltParticipation, event: RecordedEvent, now: datetime
    ) -> int:
        state = await self.load(circle)
        if not state.formed:
            return 0
        ctx = system_context(SERVICE, state.agency or event.metadata.agency, event, now=now)
        result = await self.commands.execute(circle, cmd, ctx)
        return len(result.events)

    # --- views -------------------------------------------------------------------------------

    async def aliases(self, circle_id: str, state: CircleState) -> dict[str, str | None]:
        """Each joined member's chosen alias, opened under their own key (None: none chosen, or
        erased)."""
        out: dict[str, str | None] = {}
        if self.sealer is None:
            return out
        for e in await self.store.read_stream(circle_id):
            if e.event_type == "MemberJoined" and e.data.get("alias") is not None:
                opened = await self.sealer.open_recorded(e, "person_id")
                out[e.data["person_id"]] = opened.get("alias")
        return out

    async def member_view(self, circle_id: str, state: CircleState, viewer: str) -> dict:
        """What a member (or an invited person) sees: built from an allowlist, no ids."""
        aliases = await self.aliases(circle_id, state)
        me = state.members[viewer]
        view: dict[str, Any] = {
            "circle_id": circle_id,
            "kind": str(state.kind),
            "closed": state.closed,
            "you": {"seat": me.seat, "standing": str(me.standing), "name": _name(me, aliases)},
        }
        if me.standing is not Standing.ACTIVE:
            return view  # an invited person, or one who left or was halted: nobody else's seat
        return {
            **view,
            "members": [
                {"seat": m.seat, "name": _name(m, aliases)}
                for m in sorted(state.active(), key=lambda m: m.seat)
            ],
            "meetings": _meetings(state),
        }

    async def staff_view(self, circle_id: str, state: CircleState, version: int) -> dict:
        """The facilitator's and the agency auditor's view: who, from which case, standing."""
        aliases = await self.aliases(circle_id, state)
        return {
            "circle_id": circle_id,
            "version": version,
            "kind": str(state.kind),
            "agency": state.agency,
            "facilitator_id": state.facilitator_id,
            "closed": state.closed,
            "members": [
                {
                    "seat": m.seat,
                    "name": _name(m, aliases),
                    "person_id": m.person_id,
                    "role": str(m.role),
                    "case_id": m.case_id,
                    "standing": str(m.standing),
                    "halted_by": str(m.halted_by) if m.halted_by else None,
                }
                for m in sorted(state.members.values(), key=lambda m: m.seat)
            ],
            "meetings": _meetings(state),
        }

    async def history(self, circle_id: str, as_of: datetime | None) -> list[dict]:
        """Who did what, when, in what role, and what caused it (R9), as recorded by `as_of`:
        each halt names its cause. Personal fields (an alias) stay sealed here."""
        out = []
        for e in await self.store.read_stream(circle_id, as_of=as_of):
            model = e.decode()
            data = {k: ("[sealed]" if k in model.personal_fields and v is not None else v)
                    for k, v in e.data.items()}  # fmt: skip
            meta = e.metadata
            out.append({
                "position": e.stream_version, "event_id": str(e.event_id), "type": e.event_type,
                "occurred_at": meta.occurred_at.isoformat(),
                "recorded_at": e.recorded_at.isoformat(),
                "actor": {"id": meta.actor_id, "role": str(meta.role)},
                "causation_id": str(meta.causation_id) if meta.causation_id else None,
                "data": data,
            })  # fmt: skip
        return out

    async def listing(self, agency: str) -> list[dict]:
        await self.settle()
        async with self.store.pool.acquire() as conn:
            return await self.index.circles_of_agency(conn, agency)

    async def circles_of(self, person_id: str) -> list[str]:
        await self.settle()
        async with self.store.pool.acquire() as conn:
            return await self.index.circles_of_person(conn, person_id)


def _name(member: Member, aliases: dict[str, str | None]) -> str:
    chosen = aliases.get(member.person_id) if member.standing is Standing.ACTIVE else None
    return chosen or f"Member {member.seat}"


def _meetings(state: CircleState) -> list[dict]:
    return [
        {"session_id": str(m.session_id), "starts_at": m.starts_at.isoformat(),
         "status": str(m.status)}
        for m in sorted(state.meetings.values(), key=lambda m: (m.starts_at, str(m.session_id)))
    ]  # fmt: skip
