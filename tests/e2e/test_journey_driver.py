"""The journeys' driver. It mints a participant's or practitioner's token again before it expires:
the hour's soak asked for more than an hour and its ramp failed on "401 token expired", since
the driver had kept each first token for the whole run."""

from __future__ import annotations

import httpx
from mend_testkit.journeys import driver as driver_module
from mend_testkit.journeys.driver import CASE_SERVICES, REMINT_AFTER, Driver


def test_a_token_is_minted_again_before_the_tokens_hour_is_out(monkeypatch) -> None:
    minted: list[tuple[str, str]] = []

    def source(role: str, person: str) -> dict[str, str]:
        minted.append((role, person))
        return {"Authorization": f"Bearer {len(minted)}"}

    clock = [1000.0]
    monkeypatch.setattr(driver_module.time, "monotonic", lambda: clock[0])
    driver = Driver({s: httpx.AsyncClient() for s in CASE_SERVICES}, source)
    first = driver.auth("practitioner", "prac-0001aa")
    assert driver.auth("practitioner", "prac-0001aa") == first  # not minted per call
    clock[0] += REMINT_AFTER + 1
    assert driver.auth("practitioner", "prac-0001aa") != first
    assert minted == [("practitioner", "prac-0001aa")] * 2
    assert REMINT_AFTER < 3600 / 2  # devkeys' tokens live an hour


def test_a_session_waits_for_the_safety_plan_on_its_way_from_risk() -> None:
    """The safety gate's fact (risk's SafetyPlanAgreed) arrives over the broker like consent's
    and risk's: a journey that has just agreed the plan asks again rather than fail. The CI
    dry run's disclosure journey failed on it once."""
    from mend_testkit.journeys.people import waiting_for_other_services

    refused = httpx.Response(
        422,
        json={
            "error": "gates_unmet",
            "gates": [
                "no safety plan agreed with the harmed person before direct contact (face_to_face)"
            ],
        },
    )
    assert waiting_for_other_services(refused)
    local = httpx.Response(
        422,
        json={
            "error": "gates_unmet",
            "gates": [
                "no safety plan agreed with the harmed person before direct contact (face_to_face)",
                "preparation not done with hp-0001aa",
            ],
        },
    )
    assert not waiting_for_other_services(local)  # a gate only this case can meet: no waiting
