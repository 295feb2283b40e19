"""One disclosure or notice leaving Mend: the signed message, its ledger row and its outbox
row, in the caller's transaction (so what is recorded is exactly what is sent)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from mend_events import metrics
from mend_events.app.settings import partner_principal

# Swapped for `mend_events.sharing.envelope` at merge (same signatures).
from mend_events.sharing.envelope import notice_for_partner, seal_for_partner
from mend_events.sharing.signer import ShareSigner
from mend_events.store.disclosure_ledger import Entry, EntryKind, Ledger

from mend_disclosure.domain import Disclosure, ShareGrant

SOURCE = "urn:mend:disclosure"


def key_bytes(public_key: str) -> bytes:
    return base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a partner, with its ledger row (and, for a disclosure, Mend's copy)."""

    entry: Entry
    agency: str
    key: str
    payload: bytes
    copy: tuple[Any, ...] | None = None


class Dispatch:
    def __init__(self, schema: str, ledger: Ledger, signer: ShareSigner) -> None:
        self.schema, self.ledger, self.signer = schema, ledger, signer

    async def record(self, conn: asyncpg.Connection, outgoing: list[Outgoing]) -> list[int]:
        """Ledger rows, outbox rows and copies of `outgoing`, in the caller's transaction."""
        positions = await self.ledger.append_many(conn, [o.entry for o in outgoing])
        if not outgoing:
            return positions
        await conn.executemany(
            f"INSERT INTO {self.schema}.share_outbox (agency, message_key, payload, "
            f"ledger_position) VALUES ($1,$2,$3,$4)",
            [(o.agency, o.key, o.payload, p) for o, p in zip(outgoing, positions, strict=True)],
        )
        copies = [o.copy for o in outgoing if o.copy is not None]
        if copies:
            await conn.executemany(
                f"INSERT INTO {self.schema}.shared_copies (share_id, agency, case_id, "
                f"subject_id, grant_id, event_id, event_type, occurred_at, data) "
                f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::jsonb)",
                copies,
            )
        return positions

    async def _send(
        self, conn: asyncpg.Connection, entry: Entry, agency: str, key: str, payload: bytes
    ) -> int:
        metrics.DISCLOSED.labels(str(entry.kind)).inc()
        return (await self.record(conn, [Outgoing(entry, agency, key, payload)]))[0]

    async def disclose(
        self,
        conn: asyncpg.Connection,
        d: Disclosure,
        *,
        event_id: UUID,
        event_type: str,
        case_id: str,
        occurred_at: datetime,
        public_key: str,
        now: datetime,
    ) -> int:
        out = self.prepare(d, event_id=event_id, event_type=event_type, case_id=case_id,
                           occurred_at=occurred_at, public_key=public_key, now=now)  # fmt: skip
        return (await self.record(conn, [out]))[0]

    def prepare(
        self,
        d: Disclosure,
        *,
        event_id: UUID,
        event_type: str,
        case_id: str,
        occurred_at: datetime,
        public_key: str,
        now: datetime,
    ) -> Outgoing:
        """The signed message of a disclosure, its ledger row and Mend's copy."""
        terms = d.grant.terms
        assert terms is not None  # a grant without terms covers nothing
        data = {
            "case_id": case_id,
            "subject_id": d.subject,
            "grant_id": str(d.grant.grant_id),
            "purpose": str(terms.purpose),
            "legal_basis": str(terms.legal_basis),
            "event": d.data,
        }
        share_id = uuid5(event_id, f"share/{d.agency}")
        payload = seal_for_partner(
            event_id=str(share_id), event_type=event_type, source=SOURCE, subject=case_id,
            time=occurred_at, data=data, personal={}, categories=[str(c) for c in d.categories],
            recipient=d.agency, recipient_public_key=key_bytes(public_key), signer=self.signer,
        )  # fmt: skip
        entry = Entry(
            entry_id=share_id, kind=EntryKind.DISCLOSURE, recorded_at=now,
            recipient_agency=d.agency, recipient_principal=partner_principal(d.agency),
            case_id=case_id, subjects=(d.subject,), event_ids=(event_id,),
            field_paths=d.field_paths, digest=hashlib.sha256(payload).digest(),
            grant_id=d.grant.grant_id, grant_version=d.grant.grant_version,
            purpose=str(terms.purpose), legal_basis=str(terms.legal_basis),
        )  # fmt: skip
        copy = (share_id, d.agency, case_id, d.subject, d.grant.grant_id, event_id, event_type,
                occurred_at, d.data)  # fmt: skip
        return Outgoing(entry, d.agency, case_id, payload, copy)

    async def withdrawal_notice(
        self, conn: asyncpg.Connection, grant: ShareGrant, cause_id: UUID, now: datetime
    ) -> int:
        assert grant.ended_at is not None and grant.ended_by is not None
        notice_id = uuid5(cause_id, f"notice/{grant.grant_id}")
        data = {
            "case_id": grant.case_id,
            "subject_id": grant.participant_id,
            "grant_id": str(grant.grant_id),
            "ended_by": str(grant.ended_by),
            "effective_at": grant.ended_at.isoformat(),
        }
        payload = notice_for_partner(
            kind="withdrawal", notice_id=str(notice_id), source=SOURCE, subject=grant.case_id,
            time=grant.ended_at, data=data, recipient=grant.agency, signer=self.signer,
        )  # fmt: skip
        terms = grant.terms
        entry = Entry(
            entry_id=notice_id, kind=EntryKind.WITHDRAWAL_NOTICE, recorded_at=now,
            recipient_agency=grant.agency, recipient_principal=partner_principal(grant.agency),
            case_id=grant.case_id, subjects=(grant.participant_id,), event_ids=(cause_id,),
            digest=hashlib.sha256(payload).digest(), grant_id=grant.grant_id,
            grant_version=grant.grant_version,
            purpose=None if terms is None else str(terms.purpose),
            legal_basis=None if terms is None else str(terms.legal_basis),
        )  # fmt: skip
        return await self._send(conn, entry, grant.agency, grant.case_id, payload)

    async def erasure_notice(
        self,
        conn: asyncpg.Connection,
        agency: str,
        person_id: str,
        cause_id: UUID,
        at: datetime,
        now: datetime,
    ) -> int:
        notice_id = uuid5(cause_id, f"erasure/{agency}")
        data = {"subject_id": person_id, "effective_at": at.isoformat()}
        payload = notice_for_partner(
            kind="erasure", notice_id=str(notice_id), source=SOURCE, subject=person_id,
            time=at, data=data, recipient=agency, signer=self.signer,
        )  # fmt: skip
        entry = Entry(
            entry_id=notice_id, kind=EntryKind.ERASURE_NOTICE, recorded_at=now,
            recipient_agency=agency, recipient_principal=partner_principal(agency),
            case_id=None, subjects=(person_id,), event_ids=(cause_id,),
            digest=hashlib.sha256(payload).digest(),
        )  # fmt: skip
        return await self._send(conn, entry, agency, person_id, payload)
