"""Whether the hub lets someone sign in right now, read from the hub's own events at every
sign-in and refresh (never cached): a deactivated staff member or a suspended agency is refused
at the next request. Staff standing comes from `staff:<person>` (StaffEnrolled, StaffDeactivated,
StaffReactivated), the agency's from `agency:<agency>` (AgencyOnboarded, AgencySuspended,
AgencyReinstated, AgencyKeyRetired: a key retired through the hub's own key routes is never
used to sign again)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    AgencyKeyRetired,
    AgencyOnboarded,
    AgencyReinstated,
    AgencySuspended,
    SignIn,
    StaffDeactivated,
    StaffEnrolled,
    StaffReactivated,
    agency_stream,
    staff_stream,
)
from mend_events.store import EventStore


@dataclass(frozen=True, slots=True)
class Agency:
    onboarded: bool = False
    sign_in: SignIn | None = None
    suspended: bool = False
    retired: frozenset[str] = frozenset()  # kids retired by AgencyKeyRetired (by any route)


@dataclass(frozen=True, slots=True)
class Staff:
    agency: str
    role: Role
    active: bool


class Standing:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def staff(self, person_id: str, agency: str | None = None) -> Staff | None:
        """The person's latest enrolment (in `agency`, if given) as the hub's events have it."""
        found: Staff | None = None
        for recorded in await self._store.read_stream(staff_stream(person_id)):
            event = recorded.decode()
            if agency is not None and getattr(event, "agency_id", None) != agency:
                continue
            if isinstance(event, StaffEnrolled):
                found = Staff(event.agency_id, event.role, True)
            elif found is not None and getattr(event, "agency_id", None) == found.agency:
                if isinstance(event, StaffDeactivated):
                    found = Staff(found.agency, found.role, False)
                elif isinstance(event, StaffReactivated):
                    found = Staff(found.agency, found.role, True)
        return found

    async def agency(self, agency: str) -> Agency:
        found = Agency()
        for recorded in await self._store.read_stream(agency_stream(agency)):
            event = recorded.decode()
            if isinstance(event, AgencyOnboarded):
                found = replace(found, onboarded=True, sign_in=event.sign_in)
            elif isinstance(event, AgencySuspended):
                found = replace(found, suspended=True)
            elif isinstance(event, AgencyReinstated):
                found = replace(found, suspended=False)
            elif isinstance(event, AgencyKeyRetired):
                found = replace(found, retired=found.retired | {event.kid})
        return found

    async def agency_suspended(self, agency: str) -> bool:
        return (await self.agency(agency)).suspended
