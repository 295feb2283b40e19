"""The gateway's reactions, in the inbox transaction of each message:

- consent: share grants given and ended (a withdrawal, invalidation or lapse of a share grant
  sends its agency a withdrawal notice and records it in the ledger, in this transaction);
  erasure (`PersonalDataErased`, after the runtime's shredding) ends the person's grants and
  sends an erasure notice to every agency the ledger says received their data.
- cases (sessions, risk, aftercare): the case directory (a case's harmed person, whose grant
  decides for case-level events), and every allowlisted event held as a candidate.
- hub: the trust model, and the partners' sharing keys.

Every message's position is recorded (`Positions`) with what it did: the withdrawal barrier
compares it with the consent topic's high-water marks (gateway.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from mend_events.contracts.catalog.consent import PersonalDataErased
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS, CaseDirectory
from mend_events.security.trust.reactions import KeepsTrust
from mend_events.security.trust.tables import SUBSCRIPTION, TRUST_EVENTS
from mend_events.store.disclosure_ledger import Ledger

from mend_disclosure.dispatch import Dispatch
from mend_disclosure.domain import Allowlist
from mend_disclosure.gateway import allowlisted_types
from mend_disclosure.read_models import Candidates, GrantBook, PartnerKeys

_GRANT_ENDS = ("ConsentWithdrawn", "ConsentInvalidated", "ConsentLapsed")
_ALLOWED = allowlisted_types(Allowlist.load())
_TYPES = frozenset(t for types in _ALLOWED.values() for t in types)


@dataclass(eq=False)
class Reactions(KeepsTrust):
    CONSUMES = (
        Consumes("consent", consent=("ConsentGiven", *_GRANT_ENDS, "PersonalDataErased")),
        Consumes(
            "cases",
            sessions=(*CASE_EVENTS, *_ALLOWED.get("sessions", ())),
            risk=_ALLOWED.get("risk", ()),
            aftercare=_ALLOWED.get("aftercare", ()),
        ),
        Consumes(SUBSCRIPTION, hub=(*TRUST_EVENTS, "AgencySharingKeySet")),
    )

    directory: CaseDirectory
    dispatch: Dispatch
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        schema = self.directory.schema
        self.keep_trust(schema)
        self.grants, self.keys = GrantBook(schema), PartnerKeys(schema)
        self.candidates, self.ledger = Candidates(schema), Ledger(schema)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        kind = event.event_type
        if kind == "ConsentGiven":
            await self.grants.given(conn, event)
        elif kind in _GRANT_ENDS:
            for grant in await self.grants.ended(conn, event):
                await self.dispatch.withdrawal_notice(conn, grant, event.event_id, self.clock())
        elif kind == "PersonalDataErased":
            erased = event.decode()
            assert isinstance(erased, PersonalDataErased)
            at = event.metadata.occurred_at
            await self.grants.erased(conn, erased.person_id, at, event.event_id)
            agency = event.metadata.agency
            for recipient in await self.ledger.recipients_of(conn, erased.person_id, agency):
                await self.dispatch.erasure_notice(
                    conn, recipient, erased.person_id, event.event_id, at, self.clock()
                )

    async def on_cases(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type in CASE_EVENTS:
            await self.directory.apply(conn, event)
        if event.event_type in _TYPES:
            await self.candidates.hold(conn, event)

    async def on_hub(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type == "AgencySharingKeySet":
            await self.keys.apply(conn, event)
        else:
            await super().on_hub(conn, event)
