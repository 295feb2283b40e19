"""The hub's application layer: agencies, staff and allocations through the pure domain, the
facts each decision needs read at the moment of deciding (a practitioner's standing, a case's
agency), and the reads. HTTP-free and SQL-free (read_models.py holds the SQL), so the API, the
CLI's server side, reactions and tests use it directly.

Deactivating someone ends their allocations: the StaffDeactivated event, then one
CaseDeallocated (`staff_deactivated`, by the hub itself, caused by the deactivation) on each
case they held. Those are other streams, each appended on its own; their event ids derive from
the deactivation's, so a retry of the request ends whatever is left and writes nothing twice.
An allocation racing the deactivation is checked again once appended and ended the same way,
so no deactivated practitioner keeps a case whichever commits first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    AllocationReason,
    VettingOutcome,
    agency_stream,
    staff_stream,
)
from mend_events.security.cases import CaseDirectory, KnowsCases
from mend_events.store import EventStore

from mend_hub import commands as c
from mend_hub.domain import (
    AgencyState,
    CaseAllocations,
    HubState,
    StaffState,
    decider,
    require_active_agency,
)
from mend_hub.read_models import HubDirectory
from mend_hub.volunteers import VolunteerCommands

# The hub acting on its own is `svc-hub-service`: a pseudonymous id needs four characters after
# its prefix, so `svc-hub` (system_context's `svc-<service>`) would not be one.
SYSTEM_NAME = "hub-service"
_PAGE = 1000
_ALLOCATED = frozenset({"CaseAllocated", "VolunteerAllocated"})
_DEALLOCATED = frozenset({"CaseDeallocated", "VolunteerDeallocated"})


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class HubService(VolunteerCommands, KnowsCases):
    def __init__(
        self,
        store: EventStore,
        directory: CaseDirectory,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.read = HubDirectory(store.schema)
        self._settle = settle
        self.commands: CommandService[HubState] = CommandService(store, decider)

    # --- what other parts of the hub ask (sign-in, the people directory) ----------------------

    async def agency(self, agency_id: str) -> AgencyState:
        state, _ = await self.commands.load(agency_stream(agency_id))
        assert isinstance(state, AgencyState)
        return state

    async def staff(self, person_id: str) -> StaffState:
        state, _ = await self.commands.load(staff_stream(person_id))
        assert isinstance(state, StaffState)
        return state

    async def standing(self, person_id: str) -> c.Standing | None:
        """The person as the hub's events say now (the store, not a projection): their agency,
        role, whether they are active and whether their agency is; None if never enrolled."""
        staff = await self.staff(person_id)
        if staff.agency_id is None or staff.role is None:
            return None
        agency = await self.agency(staff.agency_id)
        return c.Standing(person_id, staff.agency_id, staff.role, staff.active, agency.active)

    async def active_staff(self, agency_id: str, person_id: str) -> c.Standing | None:
        """The standing of an active member of staff of `agency_id`, an active agency; else
        None (unknown, deactivated, another agency's, or the agency suspended)."""
        found = await self.standing(person_id)
        if found is None or found.agency_id != agency_id:
            return None
        return found if found.active and found.agency_active else None

    # --- agencies -----------------------------------------------------------------------------

    async def onboard(
        self, cmd: c.OnboardAgency, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[HubState]:
        return await self.commands.execute(
            agency_stream(cmd.agency_id), cmd, ctx, idempotency_key=key
        )

    async def on_agency(
        self, agency_id: str, cmd: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[HubState]:
        return await self.commands.execute(agency_stream(agency_id), cmd, ctx, idempotency_key=key)

    # --- staff --------------------------------------------------------------------------------

    async def on_staff(
        self, person_id: str, cmd: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[HubState]:
        """A staff command of `cmd.agency_id`, an active agency; a deactivation ends the
        person's allocations with it (module docstring)."""
        require_active_agency(await self.agency(cmd.agency_id))
        result = await self.commands.execute(staff_stream(person_id), cmd, ctx, idempotency_key=key)
        if isinstance(cmd, c.DeactivateStaff | c.RecordVetting):
            await self.end_allocations(person_id, ctx)
        return result

    async def _deactivation(self, person_id: str) -> tuple[UUID, AllocationReason] | None:
        """What ends the person's allocations now, if anything: the event that deactivated
        them, or (a volunteer) the vetting record that is not clear; and the reason it gives."""
        deactivated: UUID | None = None
        # check -> (its place in the stream, the record saying it is not clear)
        not_clear: dict[str, tuple[int, UUID]] = {}
        for at, e in enumerate(await self.store.read_stream(staff_stream(person_id))):
            if e.event_type == "StaffDeactivated":
                deactivated = e.event_id
            elif e.event_type == "StaffReactivated":
                deactivated = None
            elif e.event_type == "VolunteerVetted":
                if e.data["outcome"] == str(VettingOutcome.NOT_CLEAR):
                    not_clear[e.data["check"]] = (at, e.event_id)
                else:
                    not_clear.pop(e.data["check"], None)
        if deactivated is not None:
            return deactivated, AllocationReason.STAFF_DEACTIVATED
        if not_clear:
            return max(not_clear.values())[1], AllocationReason.VETTING_NOT_CLEAR
        return None

    async def end_allocations(self, person_id: str, ctx: CommandContext) -> int:
        """End every allocation of a deactivated person (or a volunteer not cleared); returns
        how many were ended."""
        cause = await self._deactivation(person_id)
        staff = await self.staff(person_id)
        if cause is None or staff.agency_id is None:
            return 0
        ended = 0
        for case_id in await self.cases_of(person_id):
            ended += await self._end(case_id, person_id, staff.agency_id, cause, ctx)
        return ended

    async def _end(
        self,
        case_id: str,
        person_id: str,
        agency_id: str,
        cause: tuple[UUID, AllocationReason],
        ctx: CommandContext,
    ) -> int:
        event_id, reason = cause
        system = system_context(
            SYSTEM_NAME,
            agency_id,
            now=datetime.now(UTC),
            correlation_id=ctx.correlation_id,
            causation_id=event_id,
        )
        cmd: c.DeallocateCase | c.DeallocateVolunteer
        if (await self.staff(person_id)).role is Role.VOLUNTEER:
            cmd = c.DeallocateVolunteer(agency_id, person_id, reason, only_if_allocated=True)
        else:
            cmd = c.DeallocateCase(agency_id, person_id, reason, only_if_allocated=True)
        result = await self.commands.execute(case_id, cmd, system)
        return len(result.events)

    async def cases_of(self, person_id: str) -> list[str]:
        """The cases allocated to the person now (as a practitioner or a volunteer), folded from
        the store itself (never behind a projection: a deactivation must see every allocation
        committed before it)."""
        held: dict[str, None] = {}
        after = 0
        while batch := await self.store.read_all(after, _PAGE):
            for e in batch:
                if person_id not in (e.data.get("practitioner_id"), e.data.get("volunteer_id")):
                    continue
                if e.event_type in _ALLOCATED:
                    held[e.stream_id] = None
                elif e.event_type in _DEALLOCATED:
                    held.pop(e.stream_id, None)
            after = batch[-1].global_position
        return list(held)

    # --- allocations (the case's agency comes from its opening: access.py checked it) ----------

    async def allocate(
        self,
        case_id: str,
        agency_id: str,
        body: c.AllocateBody,
        ctx: CommandContext,
        key: str | None = None,
    ) -> CommandResult[HubState]:
        standing = await self.standing(body.practitioner_id)
        cmd = c.AllocateCase(agency_id, body.practitioner_id, body.reason, standing)
        result = await self.commands.execute(case_id, cmd, ctx, idempotency_key=key)
        await self._recheck(case_id, body.practitioner_id, agency_id, ctx)
        return result

    async def deallocate(
        self,
        case_id: str,
        agency_id: str,
        practitioner_id: str,
        body: c.DeallocateBody,
        ctx: CommandContext,
        key: str | None = None,
    ) -> CommandResult[HubState]:
        cmd = c.DeallocateCase(agency_id, practitioner_id, body.reason)
        return await self.commands.execute(case_id, cmd, ctx, idempotency_key=key)

    async def reallocate(
        self,
        case_id: str,
        agency_id: str,
        body: c.ReallocateBody,
        ctx: CommandContext,
        key: str | None = None,
    ) -> CommandResult[HubState]:
        to = await self.standing(body.to_practitioner_id)
        cmd = c.ReallocateCase(
            agency_id, body.from_practitioner_id, body.to_practitioner_id, body.reason, to
        )
        result = await self.commands.execute(case_id, cmd, ctx, idempotency_key=key)
        await self._recheck(case_id, body.to_practitioner_id, agency_id, ctx)
        return result

    async def _recheck(
        self, case_id: str, person_id: str, agency_id: str, ctx: CommandContext
    ) -> None:
        """A deactivation that committed while this allocation was decided: end it now."""
        cause = await self._deactivation(person_id)
        if cause is not None:
            await self._end(case_id, person_id, agency_id, cause, ctx)

    # --- reads ----------------------------------------------------------------------------------

    async def history(self, case_id: str) -> dict[str, Any]:
        """Who was allocated to the case and who ended it, when, why and by whom (the case's
        own stream), and who is allocated now."""
        rows = []
        for e in await self.store.read_stream(case_id):
            if e.event_type not in _ALLOCATED | _DEALLOCATED:
                continue
            who = (
                {"practitioner_id": e.data["practitioner_id"]}
                if "practitioner_id" in e.data
                else {"volunteer_id": e.data["volunteer_id"], "part": e.data.get("part"),
                      "valid_until": e.data.get("valid_until")}
            )  # fmt: skip
            rows.append(
                {
                    "event_id": str(e.event_id),
                    "type": e.event_type,
                    **who,
                    "reason": e.data["reason"],
                    "by": e.metadata.actor_id,
                    "by_role": str(e.metadata.role),
                    "at": iso(e.metadata.occurred_at),
                    "caused_by": str(e.metadata.causation_id) if e.metadata.causation_id else None,
                }
            )
        state, version = await self.commands.load(case_id)
        assert isinstance(state, CaseAllocations)
        current = [
            {"practitioner_id": a.practitioner_id, "since": iso(a.since), "reason": str(a.reason),
             "by": a.by}
            for a in state.current
        ]  # fmt: skip
        volunteers = [
            {"volunteer_id": v.volunteer_id, "part": str(v.part), "since": iso(v.since),
             "valid_until": v.valid_until.isoformat(), "reason": str(v.reason), "by": v.by}
            for v in state.volunteers
        ]  # fmt: skip
        return {"case_id": case_id, "version": version, "allocated": current,
                "volunteers": volunteers, "history": rows}  # fmt: skip

    async def _caught_up(self) -> None:
        """Read your own writes: the read model applies everything recorded so far before it
        answers (a coordinator who has just enrolled or allocated someone sees it). Cheap when
        nothing is new: one position check."""
        if self._settle is not None:
            await self._settle()

    async def caseload(self, person_id: str) -> list[dict[str, Any]]:
        await self._caught_up()
        async with self.store.pool.acquire() as conn:
            rows = await self.read.caseload(conn, person_id)
        return [{**r, "allocated_at": iso(r["allocated_at"])} for r in rows]

    async def staff_list(self, agency_id: str) -> list[dict[str, Any]]:
        await self._caught_up()
        async with self.store.pool.acquire() as conn:
            rows = await self.read.staff_of(conn, agency_id)
        return [
            {
                "person_id": r["person_id"],
                "role": r["role"],
                "active": r["active"],
                "qualifications": None
                if r["level"] is None
                else {
                    "rj_trained": r["rj_trained"],
                    "sexual_harm_trained": r["sexual_harm_trained"],
                    "level": r["level"],
                    "specialisms": list(r["specialisms"]),
                },
                "enrolled_at": iso(r["enrolled_at"]),
                "changed_at": iso(r["changed_at"]),
            }
            for r in rows
        ]

    @staticmethod
    def agency_view(state: AgencyState) -> dict[str, Any]:
        idp = state.identity_provider
        return {
            "agency_id": state.agency_id,
            "name": state.name,
            "sign_in": str(state.sign_in),
            "suspended": str(state.suspended) if state.suspended else None,
            "keys": [
                {"kid": k.kid, "added_at": iso(k.added_at), "retired_at": iso(k.retired_at),
                 "public_key_pem": k.public_key_pem}
                for k in state.keys
            ],
            "identity_provider": None
            if idp is None
            else {
                "issuer": idp.issuer,
                "jwks_url": idp.jwks_url,
                "audience": idp.audience,
                "role_claim": idp.role_claim,
                "subject_claim": idp.subject_claim,
            },
            # None: no pack adopted, the default (mend_events.rules.DEFAULT_REF) is in force.
            "rule_pack": state.rule_pack,
            "sharing_key": None
            if not state.sharing_keys
            else {"kid": state.sharing_keys[-1].kid, "algorithm": "X25519",
                  "public_key": state.sharing_keys[-1].public_key},
        }  # fmt: skip
