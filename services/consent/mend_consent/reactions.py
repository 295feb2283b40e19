"""The consent service's reactions to other services' events: it learns the cases and their
members as the sessions service opened and enrolled them (`CaseDirectory`), which decide who
may act on a case here (`authorize_case`), and the hub's trust model (`on_hub`: agencies, keys,
staff, allocations), which admits every request."""

from __future__ import annotations

import asyncpg
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS
from mend_events.security.trust.reactions import KeepsCasesAndTrust, from_hub


class Reactions(KeepsCasesAndTrust):
    CONSUMES = (Consumes("cases", sessions=CASE_EVENTS), from_hub())

    async def on_cases(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.directory.apply(conn, event)
