"""The hub's reactions to other services' events: the sessions service's CaseOpened and
ParticipantEnrolled make a case, its agency and its members known (the shared case directory,
mend_events.security.cases), so a coordinator allocates only to a case of their own agency that
exists. Run inside the inbox transaction: the rows apply exactly once.

The consent service's topic carries erasure requests (`PersonalDataErased`): the runtime wraps the
handler of a subscription to it so that the person's data keys in the hub's schema (the people
directory's sealed details, mend_hub.people) are destroyed in the inbox transaction first. The
hub takes nothing else from that topic."""

from __future__ import annotations

import asyncpg
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CASE_EVENTS, CaseDirectory


class Reactions:
    CONSUMES = (
        Consumes("sessions", sessions=CASE_EVENTS),
        Consumes("consent", consent=()),  # erasures only: applied by the runtime's wrapper
    )

    def __init__(self, directory: CaseDirectory) -> None:
        self.directory = directory

    async def on_sessions(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.directory.apply(conn, event)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        return None  # the person's keys were destroyed before this runs (erasure.shredding)


def _every_subscription() -> tuple[Consumes, ...]:
    """The hub's subscriptions, its parts' included (tools.consumer_table reads this)."""
    from mend_hub.notify.reactions import Reactions as Notify

    return (*Reactions.CONSUMES, *Notify.CONSUMES)


CONSUMES = _every_subscription()
