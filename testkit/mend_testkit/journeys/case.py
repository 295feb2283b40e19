"""`Case`: one case walked through the four services, composed of each service's steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from mend_testkit.journeys.aftercare import AftercareSteps
from mend_testkit.journeys.consent import ConsentSteps
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import (
    NEVER_WITH_RP,
    Cast,
)
from mend_testkit.journeys.risk import RiskSteps
from mend_testkit.journeys.sessions import SessionsSteps


class Case(SessionsSteps, ConsentSteps, RiskSteps, AftercareSteps):
    """One case walked through the four services, each service's steps from its own module,
    and the stages every contact journey goes through."""

    # -- the stages every contact journey goes through
    async def up_to_preparation(
        self,
        forms: Sequence[str],
        *,
        responsible: bool = True,
        supporter: bool = False,
        min_gap_days: int = 0,
        extra_hp_scopes: Sequence[str] = (),
        hp_contact_now: bool = True,
    ) -> list[str]:
        """Opening, facilitator choice, preferences, each participant's consents, the
        acknowledgement, and the suitability assessment (answering the reassessment the
        facilitator's allocation made due). Returns the participants, harmed person first.
        Without `hp_contact_now`, the harmed person consents only to take part for now."""
        c = self.cast
        await self.open()
        await self.choose_facilitator()
        await self.set_preferences(
            forms,
            responsible_person_takes_part=responsible,
            min_gap_days=min_gap_days,
            invited=(
                *([c.responsible] if responsible else []),
                *([c.supporter] if supporter else []),
            ),
            progress_updates=responsible,
        )
        people = [c.harmed, *([c.responsible] if responsible else [])]
        people += [c.supporter] if supporter else []
        for person in people[1:]:
            await self.enrol(person)
        for person in people[1:]:
            await self.wait_taking_part(person)
        for person in people:
            # The responsible person has no part in forms without them (an unsent letter).
            own = [f for f in forms if person != c.responsible or f not in NEVER_WITH_RP]
            scopes = ["take_part"]
            if person != c.harmed or hp_contact_now:
                scopes += [f"contact:{f}" for f in own]
            if person == c.harmed:
                scopes += extra_hp_scopes
            await self.give_consents(person, *scopes)
        if responsible:
            await self.acknowledge()
        await self.wait_reassessment_due("facilitator_chosen", "case_stage_changed")
        await self.assess(*self._permits(forms, responsible), stage="initial")
        return people

    @staticmethod
    def _permits(forms: Sequence[str], responsible: bool) -> list[tuple[str, bool]]:
        return [(f, responsible and f not in NEVER_WITH_RP) for f in forms]

    async def up_to_contact(
        self,
        forms: Sequence[str],
        *,
        hp_contact_expires_in: timedelta | None = None,
        **preparation: Any,
    ) -> None:
        """Everything before contact: `up_to_preparation` (with its options `preparation`:
        responsible, supporter, min_gap_days, extra_hp_scopes), a preparation session with each
        participant, and the full assessment permitting `forms` once the facilitator has met
        them all (answering the reassessments the preparations made due). With
        `hp_contact_expires_in`, the harmed person's contact consents are given last and
        expire after that long."""
        people = await self.up_to_preparation(
            forms, hp_contact_now=hp_contact_expires_in is None, **preparation
        )
        responsible = self.cast.responsible in people
        for person in people:
            await self.prepare(person)
        for person in people:
            await self.wait_reassessment_due(
                f"prepared:{self.cast.short(person)}", "case_stage_changed"
            )
        await self.assess(*self._permits(forms, responsible))
        if hp_contact_expires_in is not None:
            expires = datetime.now(UTC) + hp_contact_expires_in
            for form in forms:
                await self.give_consent(self.cast.harmed, f"contact:{form}", expires_at=expires)


def new_case(driver: Driver, name: str, title: str, cast: Cast | None = None) -> Case:
    """A new case (a new id every time, so a journey can run again and again)."""
    return Case(driver, name, title, f"case-{uuid4().hex[:12]}", cast or Cast.fresh())
