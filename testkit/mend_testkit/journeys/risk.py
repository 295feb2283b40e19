"""The risk service's steps: assessments signed off by a specialist, flags, reassessments."""

from __future__ import annotations

from uuid import UUID, uuid4

from mend_testkit.journeys.people import (
    Effect,
)
from mend_testkit.journeys.steps import Steps


class RiskSteps(Steps):
    """The risk service's steps: assessments signed off by a specialist, flags, reassessments."""

    # -- risk (the facilitator, signed off by a specialist)
    async def assess(
        self,
        *permits: tuple[str, bool],
        stage: str = "full",
        safety_plan: bool = True,
        valid_for_days: int | None = 90,
    ) -> UUID:
        """An assessment: the legal restrictions checked, a decision to proceed permitting
        `permits` ((form, with the responsible person)), signed off by a specialist. The
        `initial` one is about suitability, before a facilitator has met the parties; only the
        `full` one, after preparation, permits contact, and comes with a safety plan agreed
        with the harmed person."""
        assessment = str(uuid4())
        base = f"/cases/{self.id}"
        fac = self.facilitator
        full = stage == "full"
        prefix = "" if full else "suitability_"
        await self._do(
            "risk",
            f"{base}/assessments",
            {"assessment_id": assessment, "stage": stage},
            fac,
            f"{prefix}assessment_started",
        )
        for kind in ("protective_order", "bail_or_licence_conditions", "coercive_control"):
            body = {"assessment_id": assessment, "factor": {"kind": kind, "status": "absent"}}
            await self._do("risk", f"{base}/risk-factors", body, fac, f"{prefix}factor:{kind}")
        body = {
            "assessment_id": assessment,
            "decision": "proceed",
            "permitted_forms": [
                {"form": form, "with_responsible_person": with_rp} for form, with_rp in permits
            ],
            "reasons": ["suitable_with_safeguards"],
            "signed_off_by": self.driver.team.survivor_specialist,
            # None: the rule pack's default validity.
            **({} if valid_for_days is None else {"valid_for_days": valid_for_days}),
        }
        decided = await self._do(
            "risk", f"{base}/assessment-completions", body, fac, f"{prefix}assessed"
        )
        if full and safety_plan:
            plan = {
                "assessment_id": assessment,
                "agreed_with": self.cast.harmed,
                "separate_arrival_departure": True,
                "support_person_present": True,
                "breaks": True,
                "exit_plan": True,
                "code_word_set": True,
            }
            await self._do("risk", f"{base}/safety-plans", plan, fac, "safety_plan")
        return decided

    async def raise_flag(self, severity: str, category: str, affects: str | None = None) -> UUID:
        body = {
            "flag_id": str(uuid4()),
            "severity": severity,
            "category": category,
            "affects": affects,
        }
        return await self._do(
            "risk",
            f"/cases/{self.id}/flags",
            body,
            self.facilitator,
            "flag_raised",
            event_type="RiskFlagRaised",
        )

    async def wait_reassessment_due(self, cause: str, trigger: str) -> Effect:
        """Wait until the risk service records a reassessment due because of `cause`."""
        cause_id = str(self.events[cause])

        async def due() -> bool:
            doc = await self.driver.get("risk", f"/cases/{self.id}/risk", self.facilitator)
            return any(
                str(t.get("trigger_event_id")) == cause_id and t.get("trigger") == trigger
                for t in (doc or {}).get("reassessment_triggers", [])
            )

        await self.driver.eventually(f"{self.name}: reassessment due after {cause}", due)
        effect = Effect(
            f"reassessment:{cause}",
            "risk",
            "RiskReassessmentDue",
            cause,
            {"trigger": trigger, "trigger_event_id": cause_id},
        )
        self.effects.append(effect)
        return effect
