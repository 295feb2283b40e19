"""Who may read what of the gateway: the policy as a matrix (every role, two agencies,
strangers of the same agency), then the two routes over HTTP on the real database and broker."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from mend_disclosure import access
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import risk as rev
from mend_events.errors import Forbidden
from mend_testkit.matrix import MATRIX_AGENCY, OTHER_AGENCY, matrix_leaks
from mend_testkit.waiting import wait_until

from .disclosure_support import CARE, POLICE, now, terms


def allowed(identity, action: str) -> bool:
    try:
        if action == access.READ_SHARED:  # a grant to the other agency stands in the case
            access.authorize_shared(identity, frozenset({OTHER_AGENCY}))
        else:  # the person takes part in a case of agency A
            access.authorize_disclosures(identity, frozenset({MATRIX_AGENCY}))
    except Forbidden:
        return False
    return True


def test_the_policy_matrix() -> None:
    expected = {
        access.READ_SHARED: {
            f"allocated practitioner of {OTHER_AGENCY}",
            f"unallocated practitioner of {OTHER_AGENCY}",
        },
        access.READ_DISCLOSURES: {"auditor"},
    }
    actions = [access.READ_SHARED, access.READ_DISCLOSURES]
    assert matrix_leaks(allowed, actions, expected) == []


async def test_a_partner_practitioner_reads_the_shared_part_and_the_read_is_recorded(
    gateway, feed, token
):
    client, _, runtime = gateway
    case, hp = "case-acc001", "hp-acc00001"
    t0 = now() - timedelta(minutes=1)
    await feed.sharing_key(POLICE, t0)
    await feed.open_case(case, hp, t0)
    await feed.grant(case, hp, POLICE, terms(["safety_concerns"], ["RiskFlagRaised"], t0), t0)
    flag = rev.RiskFlagRaised(flag_id=uuid4(), severity="high", category="coercive_control",
                              affects=None)  # fmt: skip
    await feed.send("risk", case, flag, at=t0 + timedelta(seconds=1), actor="prac-aaaa01",
                    role=Role.PRACTITIONER)  # fmt: skip

    async def disclosed() -> bool:
        async with runtime.pool.acquire() as conn:
            return bool(await conn.fetchval(
                f"SELECT count(*) FROM {runtime.schema}.shared_copies"))  # fmt: skip

    await wait_until(disclosed)
    path = f"/cases/{case}/shared"
    r = await client.get(path, headers=token("practitioner", "prac-pol001", agency=POLICE))

    assert r.status_code == 200, r.text
    [item] = r.json()["events"]
    assert item["type"] == "RiskFlagRaised"
    assert set(item["data"]) == {"flag_id", "severity", "category"}
    for role, agency in [("practitioner", CARE), ("coordinator", POLICE), ("auditor", POLICE),
                         ("practitioner", "agency-a"), ("harmed_person", POLICE)]:  # fmt: skip
        refused = await client.get(path, headers=token(role, "prac-x00001" if role ==
                                   "practitioner" else "aud-x00001", agency=agency))  # fmt: skip
        assert refused.status_code in (401, 403), (role, agency, refused.status_code)
    police = token("practitioner", "prac-pol001", agency=POLICE)
    assert (await client.get("/cases/case-nosuch1/shared", headers=police)).status_code == 403

    # The auditors' question: who learned what about her, when, under which grant.
    answer = await client.get(f"/people/{hp}/disclosures",
                              headers=token("auditor", "aud-aaaa01"))  # fmt: skip
    assert answer.status_code == 200, answer.text
    kinds = [(e["kind"], e["recipient_agency"]) for e in answer.json()["entries"]]
    assert kinds == [("disclosure", POLICE), ("partner_read", POLICE)]
    read = answer.json()["entries"][1]
    assert read["recipient_principal"] == "prac-pol001" and read["field_paths"] == [
        "category", "flag_id", "severity"]  # fmt: skip
    other = await client.get(f"/people/{hp}/disclosures",
                             headers=token("auditor", "aud-bbbb01", agency="agency-b"))  # fmt: skip
    assert other.status_code == 403
