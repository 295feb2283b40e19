"""The aftercare service's steps: offers, acceptance, check-ins, referrals, measures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from mend_testkit.journeys.people import (
    HARMED,
    Effect,
    json_of,
)
from mend_testkit.journeys.steps import Steps


class AftercareSteps(Steps):
    """The aftercare service's steps: offers, acceptance, check-ins, referrals, measures."""

    # -- after-care
    async def aftercare(self) -> dict[str, Any]:
        doc = await self.driver.get("aftercare", f"/cases/{self.id}/aftercare", self.facilitator)
        return doc or {}

    async def wait_offer(self, cause: str, offer_cause: str, *links: tuple[str, str]) -> Effect:
        """Wait until after-care is offered to the harmed person for the cause chain that
        `cause` began: one offer a chain, answering `cause` or whichever of its `links` (the
        journey's name of an event it caused, and that offer's cause) reached after-care
        first."""
        names = {str(self.events[n]): (n, kind) for n, kind in ((cause, offer_cause), *links)}
        chain = str(self.events[cause])
        found: list[dict[str, Any]] = []

        async def offered() -> bool:
            offers = (await self.aftercare()).get("offers", [])
            found[:] = [
                o for o in offers if o["cause_event_id"] in names or o.get("chain") == chain
            ]
            return bool(found)

        await self.driver.eventually(f"{self.name}: after-care offered for {cause}", offered)
        answered, kind = names[found[0]["cause_event_id"]]
        effect = Effect(
            f"offered:{cause}",
            "aftercare",
            "AftercareOffered",
            answered,
            {
                "cause": kind,
                "cause_event_id": found[0]["cause_event_id"],
                "harmed_person_id": self.cast.harmed,
            },
        )
        self.effects.append(effect)
        return effect

    async def wait_commitments(self, count: int) -> Effect:
        """Wait until after-care holds the agreement's commitments (one per item)."""

        async def recorded() -> bool:
            return len((await self.aftercare()).get("commitments", [])) >= count

        await self.driver.eventually(f"{self.name}: {count} commitment(s) recorded", recorded)
        effect = Effect("commitments", "aftercare", "CommitmentRecorded", "agreement")
        self.effects.append(effect)
        return effect

    def _aftercare(self, path: str) -> str:
        return f"/cases/{self.id}/aftercare{path}"

    async def accept_aftercare(self) -> UUID:
        return await self._do(
            "aftercare", self._aftercare("/acceptance"), None, self.harmed, "aftercare_accepted"
        )

    async def check_in(self, *, complete: bool = True) -> UUID:
        """The facilitator schedules a check-in with the harmed person (and records it held)."""
        check_in = str(uuid4())
        body = {
            "check_in_id": check_in,
            "participant_id": self.cast.harmed,
            "participant_role": HARMED,
            "due_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        fac = self.facilitator
        scheduled = await self._do(
            "aftercare", self._aftercare("/check-ins"), body, fac, "check_in_scheduled"
        )
        if complete:
            await self._do(
                "aftercare",
                self._aftercare(f"/check-ins/{check_in}/completion"),
                None,
                fac,
                "check_in_completed",
            )
        return scheduled

    async def refer(self, person: str, kind: str) -> UUID:
        body = {
            "referral_id": str(uuid4()),
            "participant_id": person,
            "participant_role": self.cast.role_of(person),
            "kind": kind,
            "owner_id": self.driver.team.facilitator,
            "due_on": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
        }
        return await self._do(
            "aftercare",
            self._aftercare("/referrals"),
            body,
            self.facilitator,
            f"referral:{self.cast.short(person)}",
        )

    async def take_desistance_plan(self) -> UUID:
        """The responsible person takes up desistance and reintegration support."""
        return await self._do(
            "aftercare",
            self._aftercare("/desistance-plan"),
            None,
            self.person(self.cast.responsible),
            "desistance_plan",
        )

    async def measure(self, measure: str, point: str, score: int) -> UUID:
        """A voluntary outcome measure, recorded under the harmed person's research consent
        (asked again until the after-care service has learnt of that consent)."""
        body = {"measure": measure, "point": point, "score": score}

        def consent_not_there_yet(r: httpx.Response) -> bool:
            return r.status_code == 422 and "not consented to outcome" in str(json_of(r))

        return await self._do(
            "aftercare",
            self._aftercare("/outcome-measures"),
            body,
            self.harmed,
            f"measure:{measure}",
            retry_if=consent_not_there_yet,
        )

    async def close_aftercare(self, reason: str = "completed") -> UUID:
        return await self._do(
            "aftercare",
            self._aftercare("/closure"),
            {"reason": reason},
            self.harmed,
            "aftercare_closed",
        )
