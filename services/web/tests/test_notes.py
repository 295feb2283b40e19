"""Case notes through the web app over the real hub and sessions service: the allocated
practitioner writes a note with a small PNG, opens it (the service records the read), downloads
the attachment; a file that is not what it claims is refused with the service's reason; the
note is shared with the harmed person. Participants never reach these pages. Without the CSRF
token nothing is written."""

from __future__ import annotations

from .accounts import open_and_allocate, staffed
from .conftest import csrf_of

A, COORD, PRAC, HP, CASE = (
    "agency-a",
    "coord-aaaa01",
    "prac-0001aa",
    "hp-notes0001",
    "case-wnote001",
)
PNG = b"\x89PNG\r\n\x1a\n" + b"a drawing" + b"\x00" * 8
TEXT = "She asked that the first meeting be in the morning."


async def test_a_note_is_written_opened_recorded_downloaded_and_shared(world):
    await staffed(world, A, COORD, (PRAC,))
    await open_and_allocate(world, A, CASE, HP, PRAC)
    prac = await world.signed_in_as("practitioner", PRAC)
    page = await prac.get(f"/cases/{CASE}/notes")
    assert page.status_code == 200 and "No notes yet." in page.text, page.text
    csrf = csrf_of(page.text)
    form = {"kind": "preparation", "about": "", "text": TEXT}
    files = {"file": ("drawing.png", PNG, "image/png")}
    assert (await prac.post(f"/cases/{CASE}/notes", data=form, files=files)).status_code == 403
    r = await prac.post(f"/cases/{CASE}/notes", data={**form, "csrf_token": csrf}, files=files)
    assert (r.status_code, r.headers.get("location")) == (303, f"/cases/{CASE}/notes?done=written")
    bad = {"file": ("drawing.png", b"not a png at all", "image/png")}
    r = await prac.post(f"/cases/{CASE}/notes", data={**form, "csrf_token": csrf}, files=bad)
    assert r.status_code == 422 and "the content is not image/png" in r.text, r.text

    listed = await prac.get(f"/cases/{CASE}/notes")
    assert "with an attachment" in listed.text and "opened 0 times" in listed.text
    [note_id] = [
        n["note_id"]
        for n in await world.app.state.services.notes(
            world.token("practitioner", PRAC, A)["Authorization"].removeprefix("Bearer "), CASE
        )
    ]
    opened = await prac.get(f"/cases/{CASE}/notes/{note_id}")
    assert opened.status_code == 200 and TEXT in opened.text and "This reading is recorded" in (
        opened.text)  # fmt: skip
    download = await prac.get(f"/cases/{CASE}/notes/{note_id}/attachment")
    assert download.content == PNG and download.headers["cache-control"] == "no-store"
    assert "opened 2 times" in (await prac.get(f"/cases/{CASE}/notes")).text

    r = await prac.post(f"/cases/{CASE}/notes/{note_id}/share",
                        data={"with_id": HP, "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    assert f"shared with {HP}" in (await prac.get(f"/cases/{CASE}/notes")).text
    hp = await world.signed_in_as("harmed_person", HP)
    assert (await hp.get(f"/cases/{CASE}/notes")).status_code == 403
