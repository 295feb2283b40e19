"""The sessions service's steps: opening, choices, enrolment, preparation and contact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from mend_testkit.journeys.people import (
    DIRECT_FORMS,
    Effect,
    Headers,
    waiting_for_other_services,
)
from mend_testkit.journeys.steps import Steps


class SessionsSteps(Steps):
    """The sessions service's steps: opening, choices, enrolment, preparation and contact."""

    # -- opening, facilitator, preferences (the harmed person's own choices)
    async def open(self, harm: str = "sexual_assault", stage: str = "post_sentence") -> UUID:
        await self.driver.register_team()
        body = {"harm_category": harm, "justice_stage": stage, "route": "self_referral"}
        opened = await self._do("sessions", f"/cases/{self.id}/open", body, self.harmed, "opened")
        # The agency's coordinator allocates the team's facilitator to the new case (the hub).
        await self.driver.allocate(self.id, self.driver.team.facilitator)
        return opened

    async def choose_facilitator(self) -> UUID:
        body = {"practitioner_id": self.driver.team.facilitator}
        return await self._do(
            "sessions", f"/cases/{self.id}/facilitator", body, self.harmed, "facilitator_chosen"
        )

    async def set_preferences(
        self,
        forms: Sequence[str],
        *,
        responsible_person_takes_part: bool,
        min_gap_days: int = 0,
        invited: Sequence[str] = (),
        progress_updates: bool = False,
    ) -> UUID:
        body = {
            "min_gap_days": min_gap_days,
            "permitted_forms": list(forms),
            "speaks_first": self.cast.harmed,
            "responsible_person_takes_part": responsible_person_takes_part,
            "invited": list(invited),
            "progress_updates": progress_updates,
        }
        return await self._do(
            "sessions", f"/cases/{self.id}/preferences", body, self.harmed, "preferences_set"
        )

    # -- who takes part: the harmed person agreed (preferences), the facilitator enrols
    async def enrol(self, person: str) -> UUID:
        body = {"person_id": person, "role": self.cast.role_of(person)}
        return await self._do(
            "sessions",
            f"/cases/{self.id}/participants",
            body,
            self.facilitator,
            f"enrolled:{self.cast.short(person)}",
        )

    async def wait_taking_part(self, person: str) -> None:
        """Until every other service has taken in, over the broker, that `person` takes part
        (each answers their own read with 200 then, and 403 or 404 before)."""
        reads = {
            "consent": f"/cases/{self.id}/consents",
            "risk": f"/cases/{self.id}/safety-plans",
            "aftercare": f"/cases/{self.id}/aftercare",
        }
        for service, path in reads.items():

            async def known(service: str = service, path: str = path) -> bool:
                client = self.driver.clients[service]
                r = await client.get(path, headers=dict(self.person(person)))
                return r.status_code == 200

            await self.driver.eventually(f"{self.name}: {service} knows {person}", known)

    # -- preparation and contact (the facilitator runs them)
    async def prepare(self, person: str) -> UUID:
        body = {"participant": {"id": person, "role": self.cast.role_of(person)}}
        return await self._do(
            "sessions",
            f"/cases/{self.id}/preparations",
            body,
            self.facilitator,
            f"prepared:{self.cast.short(person)}",
        )

    async def schedule(
        self,
        label: str,
        form: str,
        participants: Sequence[str],
        *,
        at: timedelta = timedelta(minutes=5),
    ) -> UUID:
        """Schedule a contact session through every gate (R4); the team the form needs."""
        t = self.driver.team
        team: list[str] = []
        if form in DIRECT_FORMS:
            team.append(t.survivor_specialist)
            if self.cast.responsible in participants:
                team.append(t.hsb_specialist)
        session_id = self.sessions[label] = f"sess-{uuid4().hex[:10]}"
        body = {
            "session_id": session_id,
            "form": form,
            "participants": [{"id": p, "role": self.cast.role_of(p)} for p in participants],
            "facilitator_id": t.facilitator,
            "team": team,
            "scheduled_for": (datetime.now(UTC) + at).isoformat(),
        }
        return await self._do(
            "sessions",
            f"/cases/{self.id}/sessions",
            body,
            self.facilitator,
            f"scheduled:{label}",
            retry_if=waiting_for_other_services,
        )

    def _session(self, label: str) -> str:
        return f"/cases/{self.id}/sessions/{self.sessions[label]}"

    async def _on_session(
        self, label: str, step: str, headers: Headers, done: str, **options: Any
    ) -> UUID:
        """A command without a body on the session known as `label`, kept as `<done>:<label>`."""
        path = f"{self._session(label)}/{step}"
        return await self._do("sessions", path, None, headers, f"{done}:{label}", **options)

    async def start(self, label: str) -> UUID:
        """Start a scheduled session: every gate is checked again."""
        retry = waiting_for_other_services
        return await self._on_session(label, "start", self.facilitator, "started", retry_if=retry)

    async def complete(self, label: str) -> UUID:
        return await self._on_session(label, "complete", self.facilitator, "completed")

    async def halt(self, label: str, person: str) -> UUID:
        """A participant stops the session; no reason is asked (R3)."""
        return await self._on_session(label, "halt", self.person(person), "halted")

    async def agree(self, label: str, items: Sequence[tuple[str, str, date | None]]) -> UUID:
        """The outcome agreement, consented by every party present: (owner, commitment, due)."""
        body = {
            "items": [
                {"owner_id": owner, "commitment": code, "due_on": due.isoformat() if due else None}
                for owner, code, due in items
            ],
            "consented_by": [self.cast.harmed, self.cast.responsible],
        }
        return await self._do(
            "sessions", f"{self._session(label)}/agreement", body, self.facilitator, "agreement"
        )

    async def close(self, reason: str = "harmed_person_ready") -> UUID:
        return await self._do(
            "sessions",
            f"/cases/{self.id}/close",
            {"reason": reason},
            self.harmed,
            "case_closed",
            event_type="CaseClosed",
        )

    async def session_doc(self, label: str) -> dict[str, Any] | None:
        doc = await self.driver.get("sessions", f"/cases/{self.id}", self.facilitator)
        sessions = (doc or {}).get("sessions", [])
        return next((s for s in sessions if s["session_id"] == self.sessions[label]), None)

    async def wait_halted(self, label: str, cause: str, halt_cause: str) -> UUID:
        """Wait until the sessions service halts the session because of the event known as
        `cause`, with the kind of halt `halt_cause`."""
        cause_id = str(self.events[cause])

        async def halted() -> dict[str, Any] | None:
            session = await self.session_doc(label)
            return session.get("halt") if session and session["status"] == "halted" else None

        halt = await self.driver.eventually(f"{self.name}: {label} halted", halted)
        if (halt["cause"], halt["cause_event_id"]) != (halt_cause, cause_id):
            raise AssertionError(
                f"{self.name}: {label} halted for {halt['cause']} by {halt['cause_event_id']}, "
                f"not for {halt_cause} by {cause} ({cause_id})"
            )
        name = f"halted:{label}"
        self.events[name] = UUID(halt["event_id"])
        self.effects.append(
            Effect(
                name,
                "sessions",
                "SessionHalted",
                cause,
                {"cause": halt_cause, "cause_event_id": cause_id, "halted_by_id": None},
                self.events[name],
            )
        )
        return self.events[name]

    async def still_scheduled(self, label: str) -> bool:
        session = await self.session_doc(label)
        return session is not None and session["status"] == "scheduled"
