"""Whether the hub lets someone sign in right now, asked of the hub's core (`HubService`, which
folds the hub's own events from the store at every call, never a projection): a deactivated
member of staff or a suspended agency is refused at the next sign-in, refresh or request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import SignIn

from mend_hub.service import HubService


@dataclass(frozen=True, slots=True)
class Agency:
    onboarded: bool = False
    sign_in: SignIn | None = None
    active: bool = False  # onboarded and not suspended
    # kid -> when it retires (None: not retiring), as the hub's events have it
    keys: dict[str, datetime | None] = field(default_factory=dict)

    def retiring(self) -> frozenset[str]:
        """Keys with a retirement recorded, past or coming: none of them signs a new token."""
        return frozenset(kid for kid, at in self.keys.items() if at is not None)

    def verifies(self, kid: str, now: datetime) -> bool:
        """Whether a token signed with `kid` is still accepted (the overlap of a rotation)."""
        at = self.keys.get(kid)
        return kid in self.keys and (at is None or now < at)


@dataclass(frozen=True, slots=True)
class Staff:
    agency: str
    role: Role
    active: bool  # the person active and their agency too


class Standing:
    def __init__(self, hub: Callable[[], HubService]) -> None:
        self._hub = hub

    async def staff(self, person_id: str, agency: str | None = None) -> Staff | None:
        """The person's enrolment (in `agency`, if given), or None if never enrolled there."""
        found = await self._hub().standing(person_id)
        if found is None or (agency is not None and found.agency_id != agency):
            return None
        return Staff(found.agency_id, found.role, found.active and found.agency_active)

    async def agency(self, agency: str) -> Agency:
        state = await self._hub().agency(agency)
        return Agency(
            onboarded=state.onboarded,
            sign_in=state.sign_in if state.onboarded else None,
            active=state.active,
            keys={k.kid: k.retired_at for k in state.keys},
        )
