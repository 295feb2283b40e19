"""The hub's application layer for community volunteers (issue 21), mixed into `HubService`:
allocating one to a case for a part on their vetting and training as their stream says at the
moment of deciding, ending it, and their record with what each part still needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mend_events.commands.decider import CommandContext
from mend_events.commands.service import CommandResult
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import VolunteerPart
from mend_events.errors import NotFound

from mend_hub import commands as c
from mend_hub.domain import HubState
from mend_hub.domain import volunteers as rules

if TYPE_CHECKING:
    from mend_events.commands.service import CommandService

    from mend_hub.domain import StaffState


class VolunteerCommands:
    """What HubService provides these methods (declared, so the mixin type-checks alone)."""

    commands: CommandService[HubState]

    if TYPE_CHECKING:

        async def standing(self, person_id: str) -> c.Standing | None: ...
        async def staff(self, person_id: str) -> StaffState: ...
        async def _recheck(
            self, case_id: str, person_id: str, agency_id: str, ctx: CommandContext
        ) -> None: ...

    async def allocate_volunteer(
        self,
        case_id: str,
        agency_id: str,
        body: c.VolunteerAllocateBody,
        ctx: CommandContext,
        key: str | None = None,
    ) -> CommandResult[HubState]:
        """A volunteer for a part, on their vetting and training as their stream says now."""
        standing = await self.standing(body.volunteer_id)
        record = await self.staff(body.volunteer_id)
        cmd = c.AllocateVolunteer(
            agency_id, body.volunteer_id, body.part, body.reason, standing, record
        )
        result = await self.commands.execute(case_id, cmd, ctx, idempotency_key=key)
        await self._recheck(case_id, body.volunteer_id, agency_id, ctx)
        return result

    async def deallocate_volunteer(
        self,
        case_id: str,
        agency_id: str,
        volunteer_id: str,
        body: c.DeallocateBody,
        ctx: CommandContext,
        key: str | None = None,
    ) -> CommandResult[HubState]:
        cmd = c.DeallocateVolunteer(agency_id, volunteer_id, body.reason)
        return await self.commands.execute(case_id, cmd, ctx, idempotency_key=key)

    async def volunteer_record(self, agency_id: str, person_id: str) -> dict[str, Any]:
        """A volunteer's vetting and training as recorded, and for each part whether they may be
        allocated today and what stands in the way (codes and dates only)."""
        state = await self.staff(person_id)
        if state.agency_id != agency_id or state.role is not Role.VOLUNTEER:
            raise NotFound("no volunteer with this id in this agency", field="person_id")
        today = datetime.now(UTC).date()
        return {
            "person_id": person_id,
            "active": state.active,
            "vetting": [
                {"check": str(v.check), "outcome": str(v.outcome),
                 "checked_on": v.checked_on.isoformat(), "valid_until": v.valid_until.isoformat()}
                for v in state.vetting
            ],
            "training": [
                {"course": str(t.course), "completed_on": t.completed_on.isoformat(),
                 "valid_until": t.valid_until.isoformat() if t.valid_until else None}
                for t in state.training
            ],
            "parts": {
                str(part): [{"what": what, "state": gap}
                             for what, gap in rules.gaps(state, part, today)]
                for part in VolunteerPart
            },
        }  # fmt: skip
