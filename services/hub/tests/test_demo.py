"""The demo agency `make up` creates (mend_hub.demo, called by deploy/local/launcher.py), here
against the hub in process on the real database and broker: three accounts opened whose file
(mode 600) holds what signs them in; run again it leaves them; with the file gone it resets
them; production refuses it, and the hub refuses the demo agency's id there."""

from __future__ import annotations

import stat
import time

import pyotp
import pytest
from mend_hub.app import build
from mend_hub.demo import DEMO_AGENCY, DemoRefused, how_to_sign_in, set_up_demo
from mend_testkit.fixtures import running_service

HUB_URL = "http://127.0.0.1:8106"


@pytest.fixture
async def hub(platform, unique, topic_prefix, token):
    async with running_service(build, "hub", platform, unique, topic_prefix) as (client, _, _):
        yield client, token("operator", "ops-0001aa", "mend-ops")


def _accounts(path) -> dict[str, dict[str, str]]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    header, *body = rows
    return {row[1]: dict(zip(header, row, strict=True)) for row in body}


async def _signs_in(client, account: dict[str, str], password: str | None = None) -> int:
    body = {"agency": DEMO_AGENCY, "username": account["login"],
            "password": password or account["password"]}  # fmt: skip
    first = await client.post("/signin", json=body)
    if first.status_code != 200:
        return first.status_code
    # The set-up used this step's code: the authenticator's next one (within the drift).
    code = pyotp.TOTP(account["totp_secret"]).at(time.time() + 30)
    done = await client.post(
        "/signin/second-factor", json={"challenge": first.json()["challenge"], "code": code}
    )
    return done.status_code if "access_token" in done.json() else 0


async def test_the_demo_agency_its_accounts_and_their_file(hub, tmp_path):
    client, operator = hub
    path = tmp_path / ".mend" / "demo-accounts.txt"
    demo = await set_up_demo(client, operator, path, hub_url=HUB_URL, environ={})
    assert demo.created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = _accounts(path)
    assert sorted(a["role"] for a in accounts.values()) == [
        "coordinator", "practitioner", "practitioner"]  # fmt: skip
    coordinator = accounts["demo.coordinator"]
    assert await _signs_in(client, coordinator) == 200

    printed = how_to_sign_in(demo, HUB_URL, "http://127.0.0.1:8107")
    assert HUB_URL in printed and str(path) in printed and "mend hub" in printed
    assert "http://127.0.0.1:8107/signin (organisation code agency-demo)" in printed
    assert all(login in printed for login in accounts)
    assert not any(a["password"] in printed or a["totp_secret"] in printed
                   for a in accounts.values())  # fmt: skip

    # `make up` again: the demo is left as it is.
    before = path.read_text()
    again = await set_up_demo(client, operator, path, hub_url=HUB_URL, environ={})
    assert not again.created and path.read_text() == before

    # The file lost: the accounts are reset, the old password no longer opens them.
    path.unlink()
    reset = await set_up_demo(client, operator, path, hub_url=HUB_URL, environ={})
    assert reset.created
    renewed = _accounts(path)["demo.practitioner1"]
    assert renewed["password"] != accounts["demo.practitioner1"]["password"]
    old = accounts["demo.practitioner1"]["password"]
    assert await _signs_in(client, renewed, old) == 401
    assert await _signs_in(client, renewed) == 200


async def test_production_refuses_the_demo(hub, tmp_path, monkeypatch):
    client, operator = hub
    path = tmp_path / "demo-accounts.txt"
    with pytest.raises(DemoRefused):
        await set_up_demo(client, operator, path, hub_url=HUB_URL,
                          environ={"MEND_ENV": "production"})  # fmt: skip
    assert not path.exists()
    # The hub itself, in production, refuses to onboard the demo agency's id.
    monkeypatch.setenv("MEND_ENV", "production")
    body = {"agency_id": DEMO_AGENCY, "name": "Demo", "sign_in": "local"}
    r = await client.post("/agencies", json=body, headers=operator)
    assert r.status_code == 422 and r.json()["field"] == "agency_id", r.text
