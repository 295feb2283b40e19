"""What the sign-in's flows share: the pool, the tables, the hub's events, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from mend_events.contracts.actors import Role
from mend_events.security.crypto import AgencyKeys
from mend_events.store import EventStore

from mend_hub.people.relations import Relations
from mend_hub.service import HubService
from mend_hub.signin.accounts import Account, Accounts
from mend_hub.signin.invitations import Invitations
from mend_hub.signin.journal import Journal
from mend_hub.signin.keys import SigningKeys
from mend_hub.signin.limits import AddressLimit
from mend_hub.signin.passwords import Passwords
from mend_hub.signin.refresh import Refresh
from mend_hub.signin.standing import Standing
from mend_hub.signin.vault import Vault


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Parts:
    pool: asyncpg.Pool
    store: EventStore
    hub: Callable[[], HubService]  # the hub's core: who is who, read from its events
    schema: str
    agency_keys: AgencyKeys
    passwords: Passwords = field(default_factory=Passwords)
    clock: Callable[[], datetime] = utc_now
    address_limit: AddressLimit = field(default_factory=AddressLimit)
    # Who a practitioner may invite: the participants of cases allocated to them (the people
    # directory's one link between a practitioner and a person). None: nobody may be invited.
    relations: Relations | None = None

    def __post_init__(self) -> None:
        self.vault = Vault(self.agency_keys)
        self.accounts = Accounts(self.schema)
        self.refresh = Refresh(self.schema)
        self.invitations = Invitations(self.schema)
        self.keys = SigningKeys(self.schema, self.vault)
        self.standing = Standing(self.hub)
        self.journal = Journal(self.store)

    async def role_now(self, account: Account) -> tuple[Role, frozenset[str]] | None:
        """The role the person signs in with now (and the agency's keys on their way out), or
        None when the hub refuses them: their agency is not active (suspended), or (staff) they
        are deactivated or no longer enrolled there."""
        agency = await self.standing.agency(account.agency)
        if not account.is_staff:
            # A suspension stops the agency's staff, never a participant: they must still be
            # able to sign in to withdraw or halt (R2, R3).
            return account.role, agency.retiring()
        if not agency.active:
            return None
        staff = await self.standing.staff(account.person_id, account.agency)
        if staff is None or not staff.active:
            return None
        return staff.role, agency.retiring()
