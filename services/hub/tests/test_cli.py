"""`mend hub ...` end to end: the `mend` script (services/audit) finds the hub's tool through the
entry point services/hub/pyproject.toml declares, and the tool talks to a running hub (uvicorn
in this process, on the real database and broker) with the caller's token."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from mend_audit.cli import PLUGIN_GROUP, main, plugins
from mend_events.messaging.topics import ensure_topics
from mend_hub.app import build
from mend_testkit.directory import open_case
from mend_testkit.fixtures import cli_runner, running_service, serving
from mend_testkit.hub import (
    COORD_A,
    OPERATOR,
    OPS,
    PRAC_1,
    PRAC_2,
    public_pem,
)

HUB = Path(__file__).resolve().parents[1]
CASE = "case-cli0hub1"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The hub package's metadata as `pip install` writes it, from its own pyproject: its
    entry points, and nothing else, on the path."""
    project = tomllib.loads((HUB / "pyproject.toml").read_text())
    declared = project["project"]["entry-points"][PLUGIN_GROUP]
    info = tmp_path / "site" / "mend_hub-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mend-hub\nVersion: 0.1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in declared.items())
    (info / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return declared


@pytest.fixture
async def hub_url(platform, unique, topic_prefix):
    await ensure_topics(platform.kafka_bootstrap, ["sessions"], prefix=topic_prefix)
    async with running_service(build, "hub", platform, unique, topic_prefix) as (_, app, rt):
        async with serving(app) as url:
            yield url, rt


@pytest.fixture
def mend(hub_url, installed, token, capsys):
    """Run `mend hub <args>` as `who` (role, person, agency); returns (exit code, out, err)."""
    return cli_runner(main, "hub", hub_url[0], token, capsys)


OPERATOR_ = ("operator", OPERATOR, OPS)
COORD = ("coordinator", COORD_A, "agency-a")


def test_the_mend_script_finds_the_hubs_tool(installed):
    assert installed == {"hub": "mend_hub.cli:main"}
    assert plugins()["hub"].value == "mend_hub.cli:main"


async def test_agencies_staff_and_allocations_from_the_command_line(mend, hub_url, tmp_path):
    pem = tmp_path / "k1.pem"
    pem.write_text(public_pem())
    code, out, err = await mend(
        OPERATOR_, "agency", "add", "agency-a", "--name", "North RJ", "--key", f"k1={pem}"
    )
    assert (code, err) == (0, "")
    assert out.strip() == "agency-a: AgencyOnboarded, AgencyKeyAdded (version 2)"
    code, out, _ = await mend(
        OPERATOR_, "staff", "add", COORD_A, "--role", "coordinator", "--agency", "agency-a"
    )
    assert code == 0 and "StaffEnrolled" in out
    for person in (PRAC_1, PRAC_2):
        assert (await mend(COORD, "staff", "add", person, "--role", "practitioner"))[0] == 0
        code, _, _ = await mend(COORD, "staff", "qualify", person, "--level", "2",
                                "--rj-trained", "--sexual-harm-trained")  # fmt: skip
        assert code == 0
    # The staff list is a projection: brought up to date first, as before the caseload below
    # (without it the list raced the projection's 0.5 s poll, and lost once the hub also
    # subscribed to the consent topic).
    await hub_url[1].settle()
    code, out, _ = await mend(COORD, "staff", "list", "--json")
    staff = {s["person_id"]: s for s in json.loads(out)["staff"]}
    assert code == 0 and staff[PRAC_1]["qualifications"]["level"] == 2

    await open_case(hub_url[1], CASE, "hp-cli0hub1", agency="agency-a")
    code, out, _ = await mend(COORD, "allocate", CASE, PRAC_1)
    assert code == 0 and out.strip() == f"{CASE}: CaseAllocated (version 1)"
    code, out, _ = await mend(
        COORD, "reallocate", CASE, PRAC_1, PRAC_2, "--reason", "participant_request"
    )
    assert code == 0 and out.strip() == f"{CASE}: CaseDeallocated, CaseAllocated (version 3)"
    code, out, _ = await mend(COORD, "history", CASE)
    assert code == 0 and out.splitlines()[0] == f"Case {CASE}: allocated to {PRAC_2}"
    assert len(out.splitlines()) == 5 and f"ended     {PRAC_1}  (participant_request" in out
    await hub_url[1].settle()
    code, out, _ = await mend(("practitioner", PRAC_2, "agency-a"), "caseload", "--json")
    assert code == 0 and [c["case_id"] for c in json.loads(out)["cases"]] == [CASE]


async def test_a_refusal_is_one_line_with_the_reason_and_field(mend):
    assert (await mend(OPERATOR_, "agency", "add", "agency-a", "--name", "A"))[0] == 0
    assert (await mend(OPERATOR_, "agency", "suspend", "agency-a", "--reason", "other"))[0] == 0
    code, out, err = await mend(OPERATOR_, "agency", "suspend", "agency-a", "--reason", "other")
    assert (code, out) == (2, "")
    assert err.strip() == "mend hub: error: 409 this agency is suspended already (agency_id)"
    code, _, err = await mend(COORD, "agency", "suspend", "agency-a", "--reason", "other")
    assert code == 2 and err.startswith("mend hub: error: 403 ")
    code, _, err = await mend(COORD, "staff", "add", "Jane Doe", "--role", "practitioner")
    assert code == 2 and "Jane" not in err
