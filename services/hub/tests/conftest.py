"""Fixtures of the hub's tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import running_service
from mend_testkit.hub import COORD_A, COORD_B, PRAC_1, PRAC_2, Callers, two_agencies

# ---- the people directory: one case of agency A with its harmed and responsible person, a
# practitioner allocated to it, and the harmed person in the directory with a canary name and
# number (unique per test, so a search for it finds only this test's bytes).

CASE, HP, RP, SUP = "case-ppl0001", "hp-ppl0001", "rp-ppl0001", "sup-ppl0001"
PRAC, OTHER_PRAC, COORD, AUDITOR = PRAC_1, PRAC_2, COORD_A, "aud-aaaa01"


@dataclass
class PeopleWorld:
    client: Any
    app: Any
    runtime: Any
    token: Any
    canary: str
    number: str
    route_id: str = ""
    case: str = CASE
    hp: str = HP
    rp: str = RP
    prac: str = PRAC
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return self.headers[who]


async def _ok(r, *statuses: int) -> dict:
    assert r.status_code in (statuses or (200, 201)), (r.status_code, r.text)
    return r.json()


@pytest.fixture
async def people_world(platform, unique, topic_prefix, token):
    async with people_world_running(platform, unique, topic_prefix, token) as world:
        yield world


@pytest.fixture
def open_people_world():
    """`people_world_running`, for a test that starts other things first (log capture, a
    second service)."""
    return people_world_running


@contextlib.asynccontextmanager
async def people_world_running(platform, unique, topic_prefix, token) -> AsyncIterator[PeopleWorld]:
    """The hub running on its own schema and topics, with the case, the allocation and the
    harmed person's record made through its HTTP API."""
    async with running_service(build, "hub", platform, unique, topic_prefix) as (
        client,
        app,
        runtime,
    ):
        world = PeopleWorld(
            client,
            app,
            runtime,
            token,
            canary=f"Zoë Canary-{unique}",
            number=f"07700 9{int(unique, 16) % 10**8:08d}",
        )
        world.headers = {
            "coordinator": token("coordinator", COORD),
            "practitioner": token("practitioner", PRAC),
            "other practitioner": token("practitioner", OTHER_PRAC),
            "auditor": token("auditor", AUDITOR),
            "harmed person": token("harmed_person", HP),
            "responsible person": token("responsible_person", RP),
            "coordinator of agency-b": token("coordinator", COORD_B, "agency-b"),
            "practitioner of agency-b": token("practitioner", PRAC, "agency-b"),
        }
        await two_agencies(client, Callers(token))
        await open_case(runtime, CASE, HP, members={RP: "responsible_person", SUP: "supporter"})
        await _ok(
            await client.post(
                f"/cases/{CASE}/allocations",
                json={"practitioner_id": PRAC},
                headers=world.as_("coordinator"),
            )
        )
        coordinator = world.as_("coordinator")
        await _ok(await client.post("/people", json={"person_id": HP}, headers=coordinator))
        await _ok(await client.post("/people", json={"person_id": RP}, headers=coordinator))
        details = {"name": world.canary, "preferred_name": "Zo", "pronouns": "she/her"}
        url = f"/people/{HP}/details"
        await _ok(await client.put(url, json=details, headers=coordinator))
        route = {
            "channel": "phone",
            "address": world.number,
            "safe_times": "weekdays 10-12",
            "may_leave_messages": False,
            "who_knows": f"sister {world.canary}",
        }
        url = f"/people/{HP}/contact-routes"
        world.route_id = (await _ok(await client.post(url, json=route, headers=coordinator)))[
            "route_id"
        ]
        yield world
