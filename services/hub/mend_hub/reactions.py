"""The hub's reactions to other services' events: the sessions service's CaseOpened and
ParticipantEnrolled make a case, its agency and its members known (the shared case directory,
mend_events.security.cases), so a coordinator allocates only to a case of their own agency that
exists. Run inside the inbox transaction: the rows apply exactly once.

The consent service's topic carries erasure requests (`PersonalDataErased`): the runtime wraps the
handler of a subscription to it so that the person's data keys in the hub's schema (the people
directory's sealed details, mend_hub.people) are destroyed in the inbox transaction first. The
hub takes nothing else from that topic.

Like every service, the hub keeps the trust model (`on_hub`: agencies, keys, staff, allocations)
from its own topic, so its routes admit tokens exactly as the other services do: signed with a key
the hub has published, of an agency not suspended, by staff not deactivated."""

from __future__ import annotations

import asyncpg
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS
from mend_events.security.trust.reactions import KeepsCasesAndTrust, from_hub


class Reactions(KeepsCasesAndTrust):
    CONSUMES = (
        Consumes("sessions", sessions=CASE_EVENTS),
        Consumes("consent", consent=()),  # erasures only: applied by the runtime's wrapper
        from_hub(),
    )

    async def on_sessions(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.directory.apply(conn, event)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        return None  # the person's keys were destroyed before this runs (erasure.shredding)
