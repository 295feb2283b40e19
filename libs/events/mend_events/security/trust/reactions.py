"""The handler every service's `Reactions` has for the hub's topic (`Consumes(HUB, ...)`): the
trust model applied in the inbox transaction, and, in a service whose rules check
qualifications (risk, sessions), the practitioner registry from the same events. One handler
instead of five copies: a service's reactions (a dataclass of what they are given) inherit
`on_hub` and call `keep_trust(schema)` once made."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes
from mend_events.security.cases import CaseDirectory
from mend_events.security.practitioners import QUALIFICATIONS, PractitionerDirectory
from mend_events.security.trust.tables import SUBSCRIPTION, TRUST_EVENTS, TrustTables


def from_hub(*, qualifications: bool = False) -> Consumes:
    """The declaration of the `hub` subscription that `on_hub` handles: the trust model's
    events, and the qualifications for a service that keeps the registry (`keep_trust(schema,
    registry=True)`)."""
    also = (QUALIFICATIONS,) if qualifications else ()
    return Consumes(SUBSCRIPTION, hub=(*TRUST_EVENTS, *also))


class KeepsTrust:
    trust: TrustTables
    # Set by a service that takes qualifications from the hub (StaffQualificationsRecorded).
    registry: PractitionerDirectory | None = None

    def keep_trust(self, schema: str, *, registry: bool = False) -> None:
        """The trust model's tables in `schema`, and the registry's with `registry`."""
        self.trust = TrustTables(schema)
        if registry:
            self.registry = PractitionerDirectory(schema)

    async def on_hub(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await self.trust.apply(conn, event)
        if self.registry is not None:
            await self.registry.apply(conn, [event])


@dataclass(eq=False)
class KeepsCasesAndTrust(KeepsTrust):
    """Reactions that keep the case directory (from sessions' case events) and the trust
    model, both in the directory's schema."""

    directory: CaseDirectory

    def __post_init__(self) -> None:
        self.keep_trust(self.directory.schema)
