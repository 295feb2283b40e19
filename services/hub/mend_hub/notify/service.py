"""Reminders and notices, the application layer (no SQL, no HTTP): a person's choice, and the
hub's reactions to the case events that queue, cancel or notify (`reactions` calls them inside
the inbox transaction; each decision's events derive their ids from the cause, so a redelivery
writes nothing twice)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.catalog.aftercare import CheckInScheduled
from mend_events.contracts.catalog.consent import ConsentWithdrawn
from mend_events.contracts.catalog.hub import (
    PERSON_STREAM,
    ContactChannel,
    ContactRouteRecorded,
    ContactRouteRemoved,
    NoticeReason,
    ReminderCancelCause,
    ReminderKind,
    notices_stream,
    reminders_stream,
)
from mend_events.contracts.catalog.sessions import HaltCause, SessionHalted, SessionScheduled
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Rejected
from mend_events.security.identity import Identity
from mend_events.store import EventStore

from mend_hub.domain import CaseAllocations
from mend_hub.notify.domain import (
    CancelReminders,
    Choice,
    ChooseReminders,
    Notices,
    NotifyStaff,
    QueueCheckInReminder,
    QueueReminders,
    StopReminders,
    choices,
    due_time,
    notices,
)
from mend_hub.zones import UTC_NAME

# `svc-hub` is too short for a pseudonymous id: the hub acting on its own for reminders.
SERVICE = "hub-notify"
_CONSENT_HALTS = frozenset(
    {
        HaltCause.CONSENT_WITHDRAWN,
        HaltCause.CONSENT_INVALIDATED,
        HaltCause.ACKNOWLEDGEMENT_WITHDRAWN,
        HaltCause.CONSENT_LAPSED,
    }
)


def withdrawn_forms(event: ConsentWithdrawn) -> tuple[str, ...] | None:
    """The contact forms a withdrawal ended: None for all (taking part), () for none."""
    scopes = {g.scope for g in event.grants} | ({event.scope} if event.scope else set())
    if "take_part" in scopes:
        return None
    return tuple(sorted(s.removeprefix("contact:") for s in scopes if s.startswith("contact:")))


async def _utc(agency: str) -> str:
    return UTC_NAME


class NotifyService:
    def __init__(
        self,
        store: EventStore,
        allocations: Callable[[str], Any],
        clock: Callable[[], datetime],
        agency_zone: Callable[[str], Awaitable[str]] = _utc,
    ) -> None:
        self.store = store
        self.allocations = allocations  # case id -> its CaseAllocations (the hub's own fold)
        self.clock = clock
        self.agency_zone = agency_zone  # agency -> its participants' default clock
        self.choices: CommandService[Choice] = CommandService(store, choices)
        self.notices: CommandService[Notices] = CommandService(store, notices)

    # --- the person's choice ---------------------------------------------------------------

    async def choice(self, agency: str, person_id: str) -> Choice:
        return (await self.choices.load(reminders_stream(agency, person_id)))[0]

    async def choose(
        self, who: Identity, body: ChooseReminders, ctx: CommandContext, key: Any = None
    ) -> CommandResult[Choice]:
        if not await self._email_route(who.person_id, str(body.route_id)):
            raise Rejected("choose one of your own e-mail contact routes", field="route_id")
        if body.timezone is None:  # their agency's clock, recorded as the one they meant
            body = body.model_copy(update={"timezone": await self.agency_zone(who.agency)})
        stream = reminders_stream(who.agency, who.person_id)
        return await self.choices.execute(stream, body, ctx, idempotency_key=key)

    async def stop(self, who: Identity, ctx: CommandContext) -> CommandResult[Choice]:
        stream = reminders_stream(who.agency, who.person_id)
        return await self.choices.execute(stream, StopReminders(), ctx)

    async def _email_route(self, person_id: str, route_id: str) -> bool:
        channel = None
        for e in await self.store.read_stream(f"{PERSON_STREAM}{person_id}"):
            if e.data.get("route_id") == route_id:
                recorded = e.event_type == ContactRouteRecorded.event_type
                channel = e.data.get("channel") if recorded else None
                if e.event_type == ContactRouteRemoved.event_type:
                    channel = None
        return channel == ContactChannel.EMAIL

    # --- reactions ---------------------------------------------------------------------------

    async def _on_case(self, case_id: str, command: Any, cause: RecordedEvent) -> None:
        ctx = system_context(SERVICE, cause.metadata.agency, cause, now=self.clock())
        await self.notices.execute(notices_stream(case_id), command, ctx)

    async def session_scheduled(self, event: RecordedEvent, model: SessionScheduled) -> None:
        """A reminder for each participant opted into session reminders, inside their hours."""
        due = []
        for p in model.participants:
            choice = await self.choice(event.metadata.agency, p.id)
            when = due_time(choice, ReminderKind.SESSION, model.scheduled_for)
            if when is not None:
                due.append((p.id, when))
        if due:
            command = QueueReminders(session_id=model.session_id, form=str(model.form),
                                     due=tuple(due))  # fmt: skip
            await self._on_case(event.case_id, command, event)

    async def session_halted(self, event: RecordedEvent, model: SessionHalted) -> None:
        """Its reminders cancelled and its staff told, naming the root cause: the withdrawal
        (or risk event) behind a reaction's halt, so a withdrawal is told and cancels once."""
        root = model.cause_event_id or event.event_id
        lost = model.cause in _CONSENT_HALTS
        cause = (
            ReminderCancelCause.CONSENT_WITHDRAWN if lost else ReminderCancelCause.SESSION_HALTED
        )
        await self._on_case(
            event.case_id,
            CancelReminders(cause=cause, cause_event_id=root, session_id=model.session_id),
            event,
        )
        reason = NoticeReason.CONSENT_WITHDRAWN if lost else NoticeReason.SESSION_HALTED
        await self.notify(event, reason, root)

    async def consent_withdrawn(self, event: RecordedEvent, model: ConsentWithdrawn) -> None:
        forms = withdrawn_forms(model)
        if forms != ():
            command = CancelReminders(cause=ReminderCancelCause.CONSENT_WITHDRAWN,
                                      cause_event_id=event.event_id, forms=forms)  # fmt: skip
            await self._on_case(event.case_id, command, event)
        await self.notify(event, NoticeReason.CONSENT_WITHDRAWN, event.event_id)

    # --- after-care and support check-ins (aftercare's events; the plan is the stream) ---------

    async def check_in_scheduled(self, event: RecordedEvent, model: CheckInScheduled) -> None:
        """A reminder for the check-in's participant if they opted into check-in reminders,
        inside their hours on their own clock."""
        person = model.participant_id
        choice = await self.choice(event.metadata.agency, person)
        when = due_time(choice, ReminderKind.CHECK_IN, model.due_at)
        if when is None:
            return
        command = QueueCheckInReminder(check_in_id=model.check_in_id, plan=event.case_id,
                                       person_id=person, due=when)  # fmt: skip
        await self._on_case(event.case_id, command, event)

    async def check_in_settled(self, event: RecordedEvent, check_in_id: Any) -> None:
        """Completed, missed: nothing to remind of any more."""
        command = CancelReminders(cause=ReminderCancelCause.CHECK_IN_SETTLED,
                                  cause_event_id=event.event_id, kind=ReminderKind.CHECK_IN,
                                  check_in_id=check_in_id)  # fmt: skip
        await self._on_case(event.case_id, command, event)

    async def plan_closed(self, event: RecordedEvent, person_id: str | None = None) -> None:
        """The after-care or support plan stopped (or one person's desistance plan ended):
        every check-in reminder of it (of theirs) is cancelled at once."""
        command = CancelReminders(cause=ReminderCancelCause.PLAN_CLOSED,
                                  cause_event_id=event.event_id, kind=ReminderKind.CHECK_IN,
                                  person_id=person_id)  # fmt: skip
        await self._on_case(event.case_id, command, event)

    async def notify(self, event: RecordedEvent, reason: NoticeReason, cause: Any) -> None:
        """The practitioners allocated to the case now, once per cause each."""
        state = await self.allocations(event.case_id)
        if not isinstance(state, CaseAllocations) or not state.current:
            return
        people = tuple(a.practitioner_id for a in state.current)
        command = NotifyStaff(reason=reason, cause_event_id=cause, practitioners=people)
        await self._on_case(event.case_id, command, event)


def utc_now() -> datetime:
    return datetime.now(UTC)
