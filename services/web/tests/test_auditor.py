"""The auditor's pages over the real services and the audit API (in process): a withdrawal
halts a scheduled meeting; the auditor finds the case, reads the history with the halt caused
by the withdrawal, the state before the withdrawal (the picker and an entry's own link), every
halt and withdrawal, the verification and the case file as a download. Read-only: no page has a
form that posts, and no store moves while the auditor reads. Another agency's auditor sees
nothing of the case."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from mend_testkit.journeys.case import new_case

F2F = "face_to_face"
AUDITOR = "aud-0001aa"


async def _withdrawn_case(driver):
    case = new_case(driver, "web-audit", "the harmed person withdraws while a meeting is planned")
    c = case.cast
    await case.up_to_contact([F2F])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.withdraw(c.harmed, f"contact:{F2F}")
    await case.wait_halted("meeting", "withdrawn", "consent_withdrawn")
    return case


def _rows(html: str) -> list[tuple[str, str]]:
    """(seq, event type) of each timeline row."""
    return re.findall(r'<tr id="e(\d+)" data-type="(\w+)">', html)


async def test_an_auditor_reads_history_state_as_of_halts_verification_and_export(mend):
    case = await _withdrawn_case(mend.driver)
    heads = [r.store.head_position for r in (mend.world.hub_runtime, mend.world.sessions_runtime)]
    before = [await h() for h in heads]
    browser = await mend.world.signed_in_as("auditor", AUDITOR)

    # The landing page: a case id (a GET form) leads to the case; a malformed one is explained.
    r = await browser.get("/audit", params={"case_id": case.id})
    assert (r.status_code, r.headers["location"]) == (303, f"/audit/cases/{case.id}")
    r = await browser.get("/audit", params={"case_id": "not a case"})
    assert r.status_code == 422 and "A case id looks like" in r.text

    page = await browser.get(f"/audit/cases/{case.id}")
    assert page.status_code == 200, page.text
    rows = _rows(page.text)
    types = [t for _, t in rows]
    assert "ConsentWithdrawn" in types and "SessionHalted" in types
    withdrawn = next(n for n, t in rows if t == "ConsentWithdrawn")
    halted = page.text.split('data-type="SessionHalted">')[1].split("</tr>")[0]
    assert f'href="#e{withdrawn}">ConsentWithdrawn #{withdrawn}</a>' in halted  # its cause
    assert 'type="datetime-local"' in page.text
    assert page.text.count('method="post"') == 1  # the sign-out, and nothing else
    assert "ConsentWithdrawn #" in page.text and "-&gt; SessionHalted #" in page.text  # chain

    # As of the moment just before the withdrawal (an entry's own link, then the picker).
    row = rf'<tr id="e{int(withdrawn) - 1}".*?href="([^"]+as_of=[^"]+)"'
    link = re.search(row, page.text, re.S)
    assert link, page.text
    earlier = await browser.get(link.group(1).replace("&amp;", "&"))
    assert earlier.status_code == 200, earlier.text
    assert [t for _, t in _rows(earlier.text)] == types[: int(withdrawn) - 1]
    assert f"contact:{F2F}" in earlier.text.split("Consents in force")[1].split("<h3>")[0]
    picked = re.search(r'id="as-of" name="as_of" type="datetime-local" step="1" value="([^"]+)"',
                       earlier.text)  # fmt: skip
    assert picked and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", picked.group(1))
    # The case file as of that moment: the download links of the page carry it.
    export = re.search(r'href="(/audit/cases/[^"]+format=json[^"]*as_of=[^"]+)"', earlier.text)
    assert export, earlier.text
    doc = await browser.get(export.group(1).replace("&amp;", "&"))
    assert doc.status_code == 200 and doc.json()["events"] == int(withdrawn) - 1
    r = await browser.get(f"/audit/cases/{case.id}", params={"as_of": "1999-01-01T00:00"})
    assert r.status_code == 200 and _rows(r.text) == []
    r = await browser.get(f"/audit/cases/{case.id}", params={"as_of": "yesterday"})
    assert r.status_code == 422

    halts = await browser.get(f"/audit/cases/{case.id}/halts")
    assert halts.status_code == 200
    assert halts.text.count('data-kind="withdrawal"') == 1
    assert halts.text.count('data-kind="halt"') == 1
    everywhere = await browser.get("/audit/halts")
    assert everywhere.status_code == 200 and f'href="/audit/cases/{case.id}"' in everywhere.text

    verify = await browser.get("/audit/verify")
    assert verify.status_code == 200 and "Every hash chain holds." in verify.text

    export = await browser.get(f"/audit/cases/{case.id}/export", params={"format": "csv"})
    assert export.status_code == 200
    assert export.headers["content-disposition"] == f'attachment; filename="{case.id}.csv"'
    assert export.headers["cache-control"] == "no-store"
    lines = list(csv.reader(io.StringIO(export.text)))
    assert any("SessionHalted" in line for line in lines)
    doc = await browser.get(f"/audit/cases/{case.id}/export")
    assert doc.status_code == 200 and doc.json()["case_id"] == case.id
    assert [await h() for h in heads] == before  # reading wrote nothing

    # Agency B's auditor: the audit service refuses agency A's case on every page.
    other = await mend.world.signed_in_as("auditor", AUDITOR, "agency-b")
    for path in (f"/audit/cases/{case.id}", f"/audit/cases/{case.id}/halts",
                 f"/audit/cases/{case.id}/export"):  # fmt: skip
        r = await other.get(path)
        assert r.status_code in (403, 404) and case.id not in r.text.split("<main", 1)[-1], path
    assert case.id not in (await other.get("/audit/halts")).text
