"""Case notes' application side: an attachment checked (size, declared type against its first
bytes), sealed and stored in the content-addressed table before the note that names it is
written; a note opened only after its read is recorded. Text and content open as None once
their owner's keys were erased."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import asyncpg
from mend_events.contracts.catalog.sessions import CaseNoteWritten
from mend_events.errors import Rejected
from mend_events.security.crypto import FieldSealer
from mend_events.store import EventStore

from mend_sessions import commands as c
from mend_sessions.domain.state import CaseState, Note

# The first bytes each accepted type starts with (text: valid UTF-8 without NUL, below).
MAGIC = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
}
_NS = uuid5(NAMESPACE_URL, "https://mend.example/note-attachments")
_KIND = "NoteAttachment"


def checked(body: c.AttachmentBody) -> bytes:
    """The content, or a 422 on `attachment` naming what is wrong (never the content)."""
    try:
        raw = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("the attachment is not valid base64", field="attachment") from None
    if not raw or len(raw) > c.ATTACHMENT_MAX_BYTES:
        raise Rejected(f"an attachment is 1 to {c.ATTACHMENT_MAX_BYTES} bytes",
                       field="attachment")  # fmt: skip
    magic = MAGIC.get(body.media_type)
    if magic is not None and not raw.startswith(magic):
        raise Rejected(f"the content is not {body.media_type}", field="attachment")
    if body.media_type == "text/plain":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected("the content is not text/plain", field="attachment") from None
        if "\x00" in text:
            raise Rejected("the content is not text/plain", field="attachment")
    return raw


def _sealing(case_id: str, digest: str, owner: str, agency: str) -> dict[str, Any]:
    """What binds a sealed attachment to its place (the associated data)."""
    return {"owner": owner, "agency": agency, "stream_id": case_id,
            "event_id": uuid5(_NS, f"{case_id}/{digest}/{owner}"), "event_type": _KIND,
            "schema_version": 1, "field": "content"}  # fmt: skip


class Attachments:
    def __init__(self, schema: str) -> None:
        self.table = f"{schema}.note_attachments"

    async def put(
        self, pool: asyncpg.Pool, sealer: FieldSealer, case_id: str, owner: str, agency: str,
        media_type: str, raw: bytes,
    ) -> str:  # fmt: skip
        digest = hashlib.sha256(raw).hexdigest()
        text = base64.b64encode(raw).decode("ascii")
        sealed = await sealer.seal_text(text, **_sealing(case_id, digest, owner, agency))
        async with pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO {self.table} (case_id, digest, key_owner, agency, media_type, size, "
                f"sealed) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                case_id, digest, owner, agency, media_type, len(raw), sealed.model_dump(),
            )  # fmt: skip
        return digest

    async def open(
        self, pool: asyncpg.Pool, sealer: FieldSealer, case_id: str, note: Note
    ) -> tuple[str, bytes | None] | None:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT media_type, agency, sealed FROM {self.table} "
                f"WHERE case_id = $1 AND digest = $2 AND key_owner = $3",
                case_id, note.attachment, note.key_owner,
            )  # fmt: skip
        if row is None:
            return None
        sealing = _sealing(case_id, note.attachment or "", note.key_owner, row["agency"])
        text = await sealer.open_field(row["sealed"], **sealing)  # the pool decodes jsonb
        return row["media_type"], (base64.b64decode(text) if text is not None else None)


async def opened_text(
    store: EventStore, sealer: FieldSealer, state: CaseState, note: Note
) -> dict[str, Any]:
    """The note as its reader sees it: its codes and its text (None once erased)."""
    written = next(
        e for e in await store.read_stream(state.case_id)
        if e.event_type == CaseNoteWritten.event_type and e.data["note_id"] == note.id
    )  # fmt: skip
    data = await sealer.open_recorded(written, personal_owner="key_owner")
    return {
        "note_id": note.id, "kind": note.kind, "about_id": note.about_id,
        "written_by": written.metadata.actor_id,
        "written_at": written.metadata.occurred_at.isoformat(),
        "text": data["text"], "attachment": ({"type": data["attachment_type"],
                                               "size": data["attachment_size"]}
                                              if note.attachment else None),
    }  # fmt: skip


def note_rows(state: CaseState) -> list[dict[str, Any]]:
    return [
        {"note_id": n.id, "kind": n.kind, "about_id": n.about_id, "reads": n.reads,
         "shared_with": sorted(n.shared_with), "attachment": n.attachment is not None}
        for n in sorted(state.notes.values(), key=lambda n: n.id)
    ]  # fmt: skip
