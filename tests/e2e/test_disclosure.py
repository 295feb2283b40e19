"""A participant never learns another's risk information (issue 14, item 5), as a matrix: every
participant-visible read route of every service x every participant role of a case, strangers
of the same agency and people of another agency x cases whose documents hold a halt for a
severe risk flag, a halt for the harmed person's withdrawal, a participant's own halt, flags,
assessments, safety plans and the other party's consents. The four services run in process on
the real broker and database; the cases are walked through their APIs (`mend_testkit.journeys`).

Asserted for every response: no risk reference (flag, assessment, risk event ids; the flag's
kind and severity; a risk halt cause) and nothing of another participant's own records (their
consent events and grants, their withdrawal's reason, the harmed person's preferences); every
halt shown has the participant form (when, whether it was theirs, a neutral cause); nothing is
a 5xx. Someone outside the case sees none of its people either.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from mend_aftercare.app import build as build_aftercare
from mend_consent.app import build as build_consent
from mend_events.app.runtime import ServiceRuntime
from mend_events.security.disclosure import PARTICIPANT_HALT_CAUSES
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocator
from mend_testkit.fixtures import running_service
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import Journey
from mend_testkit.journeys.stories import (
    halted_conference,
    risk_flag_in_meeting,
    withdrawal_while_scheduled,
)

BUILDS = {
    "consent": (build_consent, {}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}
WITHDRAWAL_REASON = "I do not want to meet him"  # what withdrawal_while_scheduled gives

# Every read route a participant could call, per service ({case} filled in). A route added
# to a service without being added here fails `test_every_read_route_is_in_the_matrix`.
ROUTES: dict[str, list[str]] = {
    "sessions": ["/cases/{case}", "/practitioners"],
    "consent": [
        "/cases/{case}/consents",
        "/cases/{case}/consent-history",
        "/cases/{case}/consent-state?participant_id={hp}&scope=take_part",
    ],
    "aftercare": [
        "/cases/{case}/aftercare",
        "/cases/{case}/aftercare/progress-updates",
        "/reports/commissioners",
    ],
    "risk": [
        "/cases/{case}/risk",
        "/cases/{case}/permits?form=face_to_face",
        "/cases/{case}/safety-plans",
        "/cases/{case}/assessments/{assessment}",
    ],
}
NOT_CASE_CONTENT = {"/health", "/ready", "/metrics", "/openapi.json"}
RISK_WORDS = ("risk_flag", "risk_decision", "severe", "coercive_control", "signed_off_by")
HP_PREFERENCES = ("min_gap_days", "progress_updates", "responsible_person_takes_part")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Mend:
    driver: Driver
    apps: dict[str, Any]
    runtimes: dict[str, ServiceRuntime]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)


@pytest.fixture
async def mend(platform, unique, topic_prefix, token) -> AsyncIterator[Mend]:
    async with contextlib.AsyncExitStack() as stack:
        transports, apps, runtimes = {}, {}, {}
        for service, (build, options) in BUILDS.items():
            _, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix, **options)
            )
            transports[service] = httpx.ASGITransport(app=app)
            apps[service], runtimes[service] = app, runtime

        driver = await stack.enter_async_context(
            Driver.connect(
                token,
                transports=transports,
                timeout=30,
                allocate=allocator(list(runtimes.values())),
            )
        )
        yield Mend(driver, apps, runtimes, driver.clients)


def _uuids(value: Any) -> set[str]:
    return set(UUID_RE.findall(str(value)))


async def _stream(mend: Mend, service: str, case: str) -> list[Any]:
    return await mend.runtimes[service].store.read_stream(case)


async def forbidden_for(mend: Mend, j: Journey, viewer: str) -> set[str]:
    """What `viewer` (a person id) must never read anywhere about case `j`."""
    c = j.cast
    out = set(RISK_WORDS)
    for e in await _stream(mend, "risk", j.case_id):  # every risk record and id
        out |= {str(e.event_id), *_uuids(e.data)}
    for e in await _stream(mend, "sessions", j.case_id):  # what caused each halt
        if e.event_type == "SessionHalted":
            out.add(str(e.event_id))
            out |= _uuids(e.data)
    own = set()
    for e in await _stream(mend, "consent", j.case_id):  # another participant's records
        subject = e.data.get("participant_id") or e.data.get("responsible_person_id")
        ids = {str(e.event_id), *_uuids(e.data)}
        if subject == viewer:
            own |= ids
        else:
            out |= ids
    if viewer != c.harmed:
        out |= {WITHDRAWAL_REASON, *HP_PREFERENCES}
    if viewer not in (c.harmed, c.responsible, c.supporter):  # outside the case altogether
        out |= {c.harmed, c.responsible, c.supporter}
    return out - own  # their own records are theirs (a halt may name their own withdrawal)


def halts_in(value: Any) -> list[Any]:
    if isinstance(value, dict):
        found = [value["halt"]] if value.get("halt") is not None else []
        return found + [h for v in value.values() for h in halts_in(v)]
    if isinstance(value, list):
        return [h for v in value for h in halts_in(v)]
    return []


async def leaks(mend: Mend, j: Journey, viewers: dict[str, dict[str, str]]) -> list[str]:
    """Every (viewer, route) whose answer shows something forbidden, or a halt not in the
    participant form, or a 5xx; [] when nothing leaks."""
    assessment = next(
        (e.data["assessment_id"] for e in await _stream(mend, "risk", j.case_id)
         if e.event_type == "RiskAssessmentStarted"),
        "00000000-0000-0000-0000-000000000000",
    )  # fmt: skip
    found = []
    for who, (person, headers) in viewers.items():
        forbidden = await forbidden_for(mend, j, person)
        for service, routes in ROUTES.items():
            for route in routes:
                path = route.format(case=j.case_id, hp=j.cast.harmed, assessment=assessment)
                r = await mend.clients[service].get(path, headers=headers)
                where = f"{j.name}: {who} GET {service}{route} -> {r.status_code}"
                if r.status_code >= 500:
                    found.append(f"{where}: server error")
                    continue
                shown = [f for f in forbidden if f in r.text]
                if shown:
                    found.append(f"{where}: shows {sorted(shown)}")
                if r.status_code == 200:
                    for halt in halts_in(r.json()):
                        if set(halt) != {"at", "halted_by_you", "cause"} or (
                            halt["cause"] not in PARTICIPANT_HALT_CAUSES
                        ):
                            found.append(f"{where}: halt shown as {halt}")
    return found


def viewers_of(mend: Mend, j: Journey) -> dict[str, tuple[str, dict[str, str]]]:
    """Each participant role of the case, strangers of its agency, people of another agency
    (the same person ids under another agency's token)."""
    c, token = j.cast, mend.driver._token
    out = {
        "harmed person": (c.harmed, token("harmed_person", c.harmed)),
        "responsible person": (c.responsible, token("responsible_person", c.responsible)),
        "supporter": (c.supporter, token("supporter", c.supporter)),
        "harmed person of another case": (
            "hp-strange01", token("harmed_person", "hp-strange01"),
        ),
        "responsible person of another case": (
            "rp-strange01", token("responsible_person", "rp-strange01"),
        ),
        "institution rep of the agency": (
            "inst-strange1", token("institution_rep", "inst-strange1"),
        ),
    }  # fmt: skip
    return out


async def test_no_participant_reads_risk_or_another_participants_records(mend, token):
    flagged = await risk_flag_in_meeting(mend.driver)
    # A safety plan agreed with the responsible person too: his own, without its assessment.
    risk = await _stream(mend, "risk", flagged.case_id)
    assessment = next(e.data["assessment_id"] for e in risk if e.event_type == "SafetyPlanAgreed")
    plan = {
        "assessment_id": assessment,
        "agreed_with": flagged.cast.responsible,
        "separate_arrival_departure": True,
        "support_person_present": False,
        "breaks": True,
        "exit_plan": True,
        "code_word_set": False,
    }
    fac = mend.driver.auth("practitioner", mend.driver.team.facilitator)
    r = await mend.clients["risk"].post(
        f"/cases/{flagged.case_id}/safety-plans", json=plan, headers=fac
    )
    assert r.status_code == 201, r.text
    withdrawn = await withdrawal_while_scheduled(mend.driver)
    own_halt = await halted_conference(mend.driver)
    for runtime in mend.runtimes.values():
        await runtime.settle()

    found = []
    for j in (flagged, withdrawn, own_halt):
        viewers = viewers_of(mend, j)
        for who in ("harmed person", "responsible person"):  # another agency, the same people
            person, _ = viewers[who]
            viewers[f"{who} (agency-b)"] = (
                person, token(who.replace(" ", "_"), person, "agency-b"),
            )  # fmt: skip
        found += await leaks(mend, j, viewers)
    assert found == [], "\n".join(found)

    # What they do see: that it was halted, when, and whether it was their own halt.
    async def halt_seen(j: Journey, role: str, person: str) -> dict[str, Any]:
        doc = await mend.clients["sessions"].get(f"/cases/{j.case_id}", headers=token(role, person))
        assert doc.status_code == 200, doc.text
        [halt] = halts_in(doc.json())
        return halt

    rp_view = await halt_seen(flagged, "responsible_person", flagged.cast.responsible)
    assert rp_view["cause"] == "halted_by_the_facilitator" and not rp_view["halted_by_you"]
    assert rp_view["at"]
    hp_view = await halt_seen(flagged, "harmed_person", flagged.cast.harmed)
    assert hp_view["cause"] == "halted_by_the_facilitator"
    mine = await halt_seen(own_halt, "harmed_person", own_halt.cast.harmed)
    assert mine["cause"] == "halted_by_you" and mine["halted_by_you"]
    theirs = await halt_seen(own_halt, "supporter", own_halt.cast.supporter)
    assert theirs["cause"] == "halted" and not theirs["halted_by_you"]
    # The auditor still sees every halt with its cause (R9).
    audit = await mend.clients["sessions"].get(
        f"/cases/{flagged.case_id}", headers=token("auditor", "aud-0001")
    )
    assert halts_in(audit.json())[0]["cause"] == "risk_flag"


def test_every_read_route_is_in_the_matrix() -> None:
    """A participant-visible route added to any service must join the matrix above."""
    for service, (build, _) in BUILDS.items():
        app, _ = build()
        reads = {
            route.path
            for route in app.routes
            if "GET" in getattr(route, "methods", set()) and route.path not in NOT_CASE_CONTENT
        }
        listed = {
            r.split("?")[0]
            .replace("{case}", "{case_id}")
            .replace("{assessment}", "{assessment_id}")
            for r in ROUTES[service]
        }
        assert reads - {p for p in reads if p.startswith("/docs") or p.startswith("/redoc")} <= (
            listed
        ), (service, reads - listed)
