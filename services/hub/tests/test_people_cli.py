"""`mend hub person ...` against a running hub (uvicorn in this process, on the real database and
broker): the directory from the command line, with the same rule and the same read records as
the API, details only ever from a file."""

from __future__ import annotations

import json

import pytest
from mend_hub.cli import main
from mend_testkit.fixtures import cli_runner, serving

HP, PRAC = "hp-ppl0001", "prac-aaaa01"
COORD = ("coordinator", "coord-aaaa01")
AUDITOR = ("auditor", "aud-aaaa01")
RP = ("responsible_person", "rp-ppl0001")


@pytest.fixture
async def hub(people_world):
    async with serving(people_world.app) as url:
        yield url, people_world


@pytest.fixture
def person(hub, token, capsys):
    """Run `mend hub person <args>` as (role, person id); returns (exit code, out, err)."""
    return cli_runner(main, "person", hub[0], token, capsys)


async def test_the_directory_from_the_command_line(person, hub, tmp_path) -> None:
    world = hub[1]
    new = "hp-cli00001"
    code, out, err = await person(COORD, "add", new)
    assert (code, err, out.strip()) == (0, "", f"{new}: PersonRegistered (version 1)")
    details = tmp_path / "details.json"
    details.write_text(json.dumps({"name": world.canary, "pronouns": "they/them"}))
    code, out, _ = await person(COORD, "details", new, "--file", str(details))
    assert code == 0 and "PersonDetailsRecorded" in out and world.canary not in out
    route = tmp_path / "route.json"
    route.write_text(json.dumps({"channel": "post", "address": "a safe address"}))
    code, out, _ = await person(COORD, "route", "add", new, "--file", str(route))
    assert code == 0 and "ContactRouteRecorded" in out and ", route " in out
    code, out, _ = await person(COORD, "show", new)
    assert code == 0 and f"name: {world.canary}" in out

    code, out, _ = await person(("practitioner", PRAC), "contact", HP, "--purpose", "safety_check")
    assert code == 0 and world.number in out and "recorded, purpose safety_check" in out
    code, out, _ = await person(AUDITOR, "reads", HP, "--json")
    (read,) = json.loads(out)["reads"]
    assert code == 0 and (read["reader_id"], read["via_case"]) == (PRAC, "case-ppl0001")
    code, out, _ = await person(AUDITOR, "reads", HP)
    assert code == 0 and f"{PRAC} (practitioner, agency-a)  safety_check" in out
    assert world.number not in out


async def test_refusals_are_one_line_and_quote_nothing(person, hub, tmp_path) -> None:
    world = hub[1]
    code, out, err = await person(RP, "contact", HP, "--purpose", "arrange_session")
    assert (code, out) == (2, "") and err.startswith("mend hub: error: 403 ")
    assert world.number not in err
    broken = tmp_path / "details.json"
    broken.write_text(f'{{"name": "{world.canary}"')
    code, _, err = await person(COORD, "details", HP, "--file", str(broken))
    assert code == 2 and "cannot read JSON" in err and "Canary" not in err
    too_long = tmp_path / "long.json"
    too_long.write_text(json.dumps({"name": world.canary * 20}))
    code, _, err = await person(COORD, "details", HP, "--file", str(too_long))
    assert code == 2 and "422" in err and "(name)" in err and "Canary" not in err
