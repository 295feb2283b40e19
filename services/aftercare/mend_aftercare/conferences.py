"""Community team conferences, the application side (issue 21): facts from projections at the
moment of deciding (the harmed person, her participation consent), the action that becomes a
commitment or an after-care item, the cancellations a withdrawal, halt or closing causes, and
what each caller sees. HTTP-free and SQL-free (the consent read is ConsentFacts').

An agreed action and what it becomes are two appends: the action first, then the existing
event of its kind (CommitmentRecorded, CheckInScheduled, ReferralMade) through the aftercare
decider, with the action's event as its cause and an id derived from the action's. Whether the
aftercare decider would accept it is asked first (a pure call), so an action that could not
become anything is refused before it is recorded; a crash between the appends is repaired by
the client's retry of the same action (the first append is satisfied, the second made)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from mend_events.commands.decider import CommandContext, system_context
from mend_events.commands.service import CommandResult, CommandService
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import ConferenceActionKind, ConferenceCancelCause
from mend_events.contracts.catalog.consent import TAKE_PART
from mend_events.contracts.envelope import RecordedEvent
from mend_events.security.crypto import FieldSealer
from mend_events.security.identity import Identity

from mend_aftercare import access
from mend_aftercare import commands as c
from mend_aftercare import conference_commands as cc
from mend_aftercare.domain import decider as aftercare_decider
from mend_aftercare.domain.conferences import (
    Conference,
    ConferencesState,
    Meeting,
    check_action_fields,
    conference_decider,
    next_meeting,
)

if TYPE_CHECKING:
    from mend_aftercare.service import AftercareService

SERVICE = "aftercare"
_ITEM_IDS = uuid5(NAMESPACE_URL, "https://mend.example/aftercare/conference-actions")
_WORDS = ("minutes", "updates", "successes", "further_needs")


def item_id_for(action_id: UUID) -> UUID:
    """The commitment, check-in or referral an action became: one per action, for ever."""
    return uuid5(_ITEM_IDS, str(action_id))


def follow_up(action: cc.AgreeActionAt, cause_id: UUID) -> Any:
    """The aftercare command an agreed action becomes."""
    item = item_id_for(action.action_id)
    if action.kind is ConferenceActionKind.COMMITMENT:
        assert action.commitment_code is not None
        return c.RecordCommitment(
            commitment_id=item, owner_id=action.assignee_id, code=action.commitment_code,
            due_on=action.due_on, source_agreement_event_id=cause_id,
        )  # fmt: skip
    if action.kind is ConferenceActionKind.CHECK_IN:
        return c.ScheduleCheckIn(
            check_in_id=item, participant_id=action.participant_id,
            participant_role=action.participant_role, due_at=action.due_at,
        )  # fmt: skip
    return c.MakeReferral(
        referral_id=item, participant_id=action.participant_id,
        participant_role=action.participant_role, kind=action.referral_kind,
        owner_id=action.assignee_id, due_on=action.due_on,
    )  # fmt: skip


class Conferences:
    def __init__(self, aftercare: AftercareService, sealer: FieldSealer | None) -> None:
        self.aftercare = aftercare
        self.store = aftercare.store
        self.sealer = sealer
        self.commands: CommandService[ConferencesState] = CommandService(
            aftercare.store, conference_decider
        )

    async def load(self, case_id: str) -> ConferencesState:
        return (await self.commands.load(case_id))[0]

    async def execute(
        self, case_id: str, command: Any, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[ConferencesState]:
        return await self.commands.execute(case_id, command, ctx, idempotency_key=key)

    async def schedule(
        self, case_id: str, body: cc.ConferenceBody, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[ConferencesState]:
        """Her participation consent as it stands, her consent row held FOR SHARE until the
        conference is appended: a withdrawal committing in between either came first (and this
        is refused) or comes after (and its reaction cancels this conference)."""
        state, _ = await self.aftercare.commands.load(case_id)
        person = await self.aftercare.harmed_person(case_id, state)
        consent = self.aftercare.consent
        async with self.store.pool.acquire() as conn, conn.transaction():
            in_force = person is not None and await consent.in_force(
                conn, case_id, person, TAKE_PART, datetime.now(UTC), lock=True
            )
            command = cc.ScheduleConference(
                **body.model_dump(), harmed_person_id=person, participation_consent=in_force
            )
            return await self.execute(case_id, command, ctx, key)

    async def agree(
        self, case_id: str, action: cc.AgreeActionAt, ctx: CommandContext, key: str | None = None
    ) -> CommandResult[ConferencesState]:
        # Would the aftercare decider take what this action becomes? Refused before recording;
        # the action's own shape first, as what it becomes is built from its fields.
        check_action_fields(action)
        state, _ = await self.aftercare.commands.load(case_id)
        aftercare_decider.decide(state, follow_up(action, action.action_id), ctx)
        result = await self.execute(case_id, action, ctx, key)
        cause = result.events[0].event_id if result.events else await self._action_event(
            case_id, action.action_id
        )  # fmt: skip
        item_ctx = replace(ctx, causation_id=cause)
        await self.aftercare.commands.execute(
            case_id, follow_up(action, cause), item_ctx,
            idempotency_key=f"conference-action:{action.action_id}",
        )  # fmt: skip
        return result

    async def _action_event(self, case_id: str, action_id: UUID) -> UUID:
        for e in await self.store.read_stream(case_id):
            if e.event_type == "ConferenceActionAgreed" and e.data["action_id"] == str(action_id):
                return e.event_id
        raise AssertionError("an agreed action's event is in its stream")  # decided just now

    async def cancel_for(
        self, cause_event: RecordedEvent, cause: ConferenceCancelCause, agency: str
    ) -> int:
        """Every conference of the case still to meet, cancelled because of `cause_event`
        (deterministic ids from the cause: a redelivery writes nothing)."""
        state = await self.load(cause_event.case_id)
        if not any(not x.finished for x in state.conferences.values()):
            return 0
        command = cc.CancelConferences(cause=cause, cause_event_id=cause_event.event_id)
        ctx = system_context(SERVICE, agency, cause_event, now=datetime.now(UTC))
        return len((await self.execute(cause_event.case_id, command, ctx)).events)

    # --- what each caller sees --------------------------------------------------------------------

    async def words(self, case_id: str) -> dict[tuple[str, int], dict[str, str | None]]:
        """Each meeting's words, opened under the harmed person's key (None once erased)."""
        out: dict[tuple[str, int], dict[str, str | None]] = {}
        if self.sealer is None:
            return out
        for e in await self.store.read_stream(case_id):
            if e.event_type == "ConferenceHeld":
                opened = await self.sealer.open_recorded(e, "harmed_person_id")
                key = (e.data["conference_id"], e.data["occurrence"])
                out[key] = {name: opened.get(name) for name in _WORDS}
        return out

    async def view(
        self, case_id: str, identity: Identity, state: ConferencesState,
        resource: dict[str, Any], only: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The case's conferences (or `only` one) as this caller may see them: `resource` is
        the access resource the route authorised them on (its agency, members, harmed person)."""
        words: dict[tuple[str, int], dict[str, str | None]] | None = None
        shown = []
        for conf in state.conferences.values():
            if only is not None and conf.conference_id != only:
                continue
            here = {**resource, "taking_part": conf.taking_part()}
            if not access.may(identity, access.CONF_READ, here):
                continue  # a member sees only the conferences they take part in
            row = _row(conf, identity)
            for meeting, held in zip(row["meetings"], conf.meetings, strict=True):
                seen = {**here, "attendees": held.attendees}
                if access.may(identity, access.CONF_MINUTES, seen):
                    if words is None:
                        words = await self.words(case_id)
                    meeting.update(words.get((conf.conference_id, meeting["occurrence"]), {}))
            shown.append(row)
        return shown


def _row(conf: Conference, identity: Identity) -> dict[str, Any]:
    """Codes, ids and times; a community member sees their own invitation, whether they
    attended, and the actions assigned to them: nobody else's part."""
    staff_or_hers = identity.role in (
        Role.PRACTITIONER, Role.COORDINATOR, Role.AUDITOR, Role.HARMED_PERSON,
    ) and identity.person_id not in conf.members  # fmt: skip
    me = identity.person_id
    members = {k: m for k, m in conf.members.items() if staff_or_hers or k == me}
    actions = [a for a in conf.actions.values() if staff_or_hers or a.assignee_id == me]

    def attendees(meeting: Meeting) -> list[str]:
        return sorted(a for a in meeting.attendees if staff_or_hers or a == me)

    nxt = next_meeting(conf)
    return {
        "conference_id": conf.conference_id,
        "starts_at": conf.starts_at.isoformat(),
        "zone": conf.zone,
        "cadence": str(conf.cadence),
        "next_meeting_at": nxt.isoformat() if nxt else None,
        "cancelled": str(conf.cancelled) if conf.cancelled else None,
        "members": [
            {"member_id": k, "role": str(m.role), "answer": str(m.answer) if m.answer else None}
            for k, m in members.items()
        ],
        "meetings": [
            {
                "occurrence": m.occurrence,
                "held_at": m.held_at.isoformat(),
                "attendee_ids": attendees(m),
            }
            for m in conf.meetings
        ],
        "actions": [
            {
                **a.model_dump(mode="json", exclude_none=True),
                "item_id": str(item_id_for(a.action_id)),
            }
            for a in actions
        ],
    }
