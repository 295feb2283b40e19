"""The world of rows f and g: a service's processes on a test's schema and topics, fed by a
stand-in consent service (its event store and relay in the test's process) that gives,
withdraws and gives again take-part consents. For sessions each case has a face-to-face meeting
scheduled, so each withdrawal must halt it (R2): one SessionHalted whose causation is that
withdrawal; aftercare offers the harmed person after-care for it (R2), the hub tells the
allocated facilitator of it, circles halt the member's participation in the circle she joined
under the grant withdrawn, and risk makes a reassessment due when consent is given again after
it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from mend_events.app.settings import events_topic
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.circles import (
    CircleFormed,
    CircleKind,
    MemberInvited,
    MemberJoined,
)
from mend_events.contracts.catalog.consent import (
    ConsentGiven,
    ConsentWithdrawn,
    GrantRef,
    WithdrawalTarget,
)
from mend_events.contracts.catalog.hub import AllocationReason, CaseAllocated
from mend_events.contracts.catalog.sessions import (
    JusticeStage,
    Participant,
    ParticipantRole,
    SessionScheduled,
)
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.vocabulary import ContactForm
from mend_events.messaging.relay import Relay
from mend_events.messaging.topics import ensure_topics
from mend_events.store import EventStore
from mend_testkit.fixtures import drop_schema, make_schema
from mend_testkit.samples import case_opened

AGENCY = "agency-a"
FACILITATOR = "prac-ffac01"


def _meta(actor: str, role: Role) -> Metadata:
    return Metadata(actor, role, AGENCY, uuid.uuid4(), None, datetime.now(UTC))


@dataclass
class World:
    consent: EventStore
    sessions: EventStore  # the store of the service under test (sessions unless told)
    sessions_schema: str
    service: str = "sessions"
    grants: dict[str, uuid.UUID] = field(default_factory=dict)  # case -> take-part grant
    withdrawals: dict[uuid.UUID, str] = field(default_factory=dict)  # withdrawal id -> case
    causes: dict[uuid.UUID, str] = field(default_factory=dict)  # regrant id -> case

    @staticmethod
    def person(case: str) -> str:
        return "hp-" + case.removeprefix("case-")

    def scope(self, case: str) -> str:
        """The consent each case's person gives: to take part, or (circles) to take part in a
        peer support circle of their own."""
        return f"circle:{self.circle(case)}" if self.service == "circles" else "take_part"

    @staticmethod
    def circle(case: str) -> str:
        return "circle-" + case.removeprefix("case-")

    async def scheduled_case(self, case: str) -> None:
        """A case with a meeting scheduled (in the sessions store) and the harmed person's
        take-part consent given (in the consent store: the sessions service hears of it)."""
        hp = self.person(case)
        if self.service == "sessions":
            await self._meeting(case, hp)
        if self.service == "hub":  # the facilitator allocated: the hub tells them of a withdrawal
            allocated = CaseAllocated(agency_id=AGENCY, case_id=case, practitioner_id=FACILITATOR,
                                      reason=AllocationReason.NEW_CASE)  # fmt: skip
            meta = _meta("prac-coord01", Role.COORDINATOR)
            await self.sessions.append(case, [NewEvent(uuid.uuid4(), allocated, meta)],
                                       expected_version=0)  # fmt: skip
        grant = uuid.uuid4()
        given = ConsentGiven(
            grant_id=grant, participant_id=hp, participant_role=Role.HARMED_PERSON,
            scope=self.scope(case), informed_how="both", no_incentive_attested=True,
        )  # fmt: skip
        await self.consent.append(
            case, [NewEvent(uuid.uuid4(), given, _meta(hp, Role.HARMED_PERSON))], expected_version=0
        )
        self.grants[case] = grant
        if self.service == "circles":  # she joined her circle under that grant
            await self._member(case, hp, grant)

    async def _member(self, case: str, hp: str, grant: uuid.UUID) -> None:
        formed = CircleFormed(kind=CircleKind.SURVIVORS, facilitator_id=FACILITATOR, agency=AGENCY)
        invited = MemberInvited(person_id=hp, person_role=Role.HARMED_PERSON, case_id=case, seat=1)
        joined = MemberJoined(person_id=hp, grant_id=grant)
        events = [NewEvent(uuid.uuid4(), formed, _meta(FACILITATOR, Role.PRACTITIONER)),
                  NewEvent(uuid.uuid4(), invited, _meta(FACILITATOR, Role.PRACTITIONER)),
                  NewEvent(uuid.uuid4(), joined, _meta(hp, Role.HARMED_PERSON))]  # fmt: skip
        await self.sessions.append(self.circle(case), events, expected_version=0)

    async def _meeting(self, case: str, hp: str) -> None:
        session = SessionScheduled(
            session_id="sess-meet01",
            form=ContactForm.FACE_TO_FACE,
            participants=(
                Participant(id=hp, role=ParticipantRole.HARMED_PERSON),
                Participant(id="rp-" + hp[3:], role=ParticipantRole.RESPONSIBLE_PERSON),
            ),
            facilitator_id=FACILITATOR,
            team=("prac-fsrv01", "prac-fhsb01"),
            scheduled_for=datetime.now(UTC) + timedelta(days=7),
            speaks_first=hp,
        )
        opened = case_opened(hp, AGENCY, JusticeStage.POST_SENTENCE)
        await self.sessions.append(
            case,
            [NewEvent(uuid.uuid4(), opened, _meta(hp, Role.HARMED_PERSON)),
             NewEvent(uuid.uuid4(), session, _meta(FACILITATOR, Role.PRACTITIONER))],
            expected_version=0,
        )  # fmt: skip

    async def withdraw(self, case: str) -> uuid.UUID:
        hp = self.person(case)
        model = ConsentWithdrawn(
            participant_id=hp,
            target=WithdrawalTarget.GRANT,
            grants=(GrantRef(grant_id=self.grants[case], scope=self.scope(case)),),
        )
        event = NewEvent(uuid.uuid4(), model, _meta(hp, Role.HARMED_PERSON))
        await self.consent.append(case, [event], expected_version=1)
        self.withdrawals[event.event_id] = case
        return event.event_id

    async def withdraw_and_give_again(self, case: str) -> uuid.UUID:
        """A withdrawal, then the same consent given again: the regrant is risk's trigger of a
        reassessment. Returns the regrant's id (the cause its effect names)."""
        await self.withdraw(case)
        hp = self.person(case)
        given = ConsentGiven(
            grant_id=uuid.uuid4(), participant_id=hp, participant_role=Role.HARMED_PERSON,
            scope="take_part", informed_how="both", no_incentive_attested=True,
        )  # fmt: skip
        event = NewEvent(uuid.uuid4(), given, _meta(hp, Role.HARMED_PERSON))
        await self.consent.append(case, [event], expected_version=2)
        self.causes[event.event_id] = case
        return event.event_id

    async def background(self, stop: asyncio.Event, per_second: float = 40) -> None:
        """Unrelated consents on the same topic, so the consumers work while halts are due."""
        i = 0
        while not stop.is_set():
            person = f"hp-bg{uuid.uuid4().hex[:8]}"
            given = ConsentGiven(
                grant_id=uuid.uuid4(), participant_id=person,
                participant_role=Role.HARMED_PERSON, scope="take_part", informed_how="both",
                no_incentive_attested=True,
            )  # fmt: skip
            event = NewEvent(uuid.uuid4(), given, _meta(person, Role.HARMED_PERSON))
            await self.consent.append(f"case-bg{person[5:]}", [event], expected_version=0)
            i += 1
            await asyncio.sleep(1 / per_second)

    async def halts(self, conn: asyncpg.Connection) -> dict[uuid.UUID, list[float]]:
        """Per withdrawal, the seconds from its recording to each halt it caused."""
        return await self.effects(conn, "SessionHalted")

    async def effects(self, conn: asyncpg.Connection, kind: str) -> dict[uuid.UUID, list[float]]:
        """Per consent event, the seconds from its recording to each `kind` event of the
        service under test that names it as its causation."""
        rows = await conn.fetch(
            f"SELECT (h.metadata->>'causation_id')::uuid AS cause, "
            f"extract(epoch FROM h.recorded_at - w.recorded_at)::float8 AS after "
            f"FROM {self.sessions_schema}.events h JOIN {self.consent.schema}.events w "
            f"ON w.event_id = (h.metadata->>'causation_id')::uuid "
            f"WHERE h.event_type = $1",
            kind,
        )
        out: dict[uuid.UUID, list[float]] = {}
        for r in rows:
            out.setdefault(r["cause"], []).append(r["after"])
        return out


@contextlib.asynccontextmanager
async def sessions_world(
    platform, app_pool, unique: str, prefix: str, service: str = "sessions"
) -> AsyncIterator[World]:
    """The schemas, the topics and the stand-in consent service's relay; `service`'s schema
    for its processes."""
    consent_schema = await make_schema(platform, None, f"consent_{unique}")
    sessions_schema = await make_schema(platform, service, f"{service}_{unique}")
    await ensure_topics(
        platform.kafka_bootstrap,
        ["consent", "sessions", "risk", "aftercare", "hub", "circles"],
        prefix=prefix,
    )
    consent = EventStore(app_pool, consent_schema, service="consent")
    sessions = EventStore(app_pool, sessions_schema, service=service)
    relay = Relay(
        consent, platform.database_url, platform.kafka_bootstrap, events_topic("consent", prefix)
    )
    task = asyncio.create_task(relay.run())
    try:
        yield World(consent, sessions, sessions_schema, service)
    finally:
        relay.stop()
        await task
        await consent.close()
        await sessions.close()
        await drop_schema(platform, consent_schema)
        await drop_schema(platform, sessions_schema)
