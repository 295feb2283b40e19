"""The consent service's steps: each participant's consent, the acknowledgement, lapses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from mend_testkit.journeys.steps import Steps
from mend_testkit.samples import consent_body


class ConsentSteps(Steps):
    """The consent service's steps: each participant's consent, the acknowledgement, lapses."""

    # -- consent (each participant's own act) and acknowledgement
    async def give_consent(
        self, person: str, scope: str, *, expires_at: datetime | None = None
    ) -> UUID:
        body = consent_body(person, scope, witnessed_by=self.driver.team.facilitator)
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        name = f"consent:{self.cast.short(person)}:{scope}"
        return await self._do(
            "consent", f"/cases/{self.id}/consents", body, self.person(person), name
        )

    async def give_consents(self, person: str, *scopes: str) -> None:
        for scope in scopes:
            await self.give_consent(person, scope)

    async def acknowledge(self, basis: str = "written_statement") -> UUID:
        """The facilitator records the responsible person's acknowledgement of the harm."""
        body = {"responsible_person_id": self.cast.responsible, "basis": basis}
        return await self._do(
            "consent", f"/cases/{self.id}/acknowledgements", body, self.facilitator, "acknowledged"
        )

    async def withdraw(
        self, person: str, scope: str | None = None, reason: str | None = None
    ) -> UUID:
        """The participant withdraws one scope, or everything: no reason required (R2)."""
        body: dict[str, Any] = {"participant_id": person}
        if scope is not None:
            body["scope"] = scope
        if reason is not None:
            body["reason"] = reason  # sealed by the consent service, never in the audit output
        return await self._do(
            "consent", f"/cases/{self.id}/withdrawals", body, self.person(person), "withdrawn"
        )

    async def withdraw_acknowledgement(self, ground: str = "retracted") -> UUID:
        """The responsible person says their acknowledgement no longer stands."""
        body = {"responsible_person_id": self.cast.responsible, "ground": ground}
        return await self._do(
            "consent",
            f"/cases/{self.id}/acknowledgements/withdrawal",
            body,
            self.person(self.cast.responsible),
            "acknowledgement_withdrawn",
        )

    async def wait_lapsed(self, person: str, scope: str) -> UUID:
        """Wait for the consent service's sweeper to record the lapse of an expired grant."""

        async def lapsed() -> UUID | None:
            doc = await self.driver.get(
                "consent", f"/cases/{self.id}/consent-history", self.facilitator
            )
            for e in (doc or {}).get("events", []):
                data = e.get("data") or {}
                if e["type"] == "ConsentLapsed" and (
                    data.get("participant_id"),
                    data.get("scope"),
                ) == (person, scope):
                    return UUID(e["event_id"])
            return None

        self.events["lapsed"] = await self.driver.eventually(
            f"{self.name}: ConsentLapsed of {scope}", lapsed
        )
        return self.events["lapsed"]
