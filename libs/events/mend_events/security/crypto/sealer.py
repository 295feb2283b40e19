"""Sealing and opening personal fields under their owner's data key; shredding an owner's keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag

from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.events import DomainEvent, Sealed
from mend_events.security.crypto.agency_keys import AgencyKeys
from mend_events.security.crypto.cipher import (
    _NONCE_BYTES,
    DecryptionFailed,
    UnknownKey,
    _b64d,
    _b64e,
    field_associated_data,
    is_sealed,
)
from mend_events.security.crypto.key_store import KeyStore
from mend_events.security.crypto.wrapping import DataKey, new_record, unwrap


def _now() -> datetime:
    return datetime.now(UTC)


class FieldSealer:
    """Seals and opens personal fields; shreds a person's keys.

    Why no key cache across calls: an erasure must hold in every process at once. It used to
    keep unwrapped keys for 300 s, and a shred by one process left the others serving the erased
    text for minutes. Invalidating such a cache needs a message to every process (a NOTIFY to a
    listener connection per process), and that message can arrive after the other process's
    next read, or never (a dropped listener connection, which then has to forget every key):
    erasure would be "soon", which is the defect. So every seal reads the owner's active key,
    and every open reads the key's record, from the store: a shred that has committed is seen
    by the next read anywhere. The cost is one primary-key (or unique-index) lookup per call
    on an event that carries personal text (measured against the local PostgreSQL, 1,000 calls
    through the pool on a busy 2-core machine: 0.35 ms per seal and 0.29 ms per open, against
    0.03 and 0.02 ms with the old warm cache; a withdrawal's p50 in bench/RESULTS.md is 7.8 ms).
    Commands without personal text (a withdrawal without a reason, a halt: the benchmarked hot
    paths) never reach the sealer. Within one `open_event_data` call the fields of an event
    share the key read once.
    """

    def __init__(
        self,
        store: KeyStore,
        keys: AgencyKeys | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._keys = keys if keys is not None else AgencyKeys.from_env()
        self._clock = clock
        self._creating: dict[tuple[str, str], asyncio.Lock] = {}

    # ---- keys

    async def _key_for_sealing(self, agency: str, owner: str) -> DataKey:
        record = await self._store.active_key(agency, owner)
        if record is None:
            # Concurrent first seals in this process make one key (the store settles races
            # between processes: `create_key` returns the winner).
            lock = self._creating.setdefault((agency, owner), asyncio.Lock())
            async with lock:
                record = await self._store.active_key(agency, owner)
                if record is None:
                    record = await self._store.create_key(
                        new_record(self._keys, agency, owner, self._clock())
                    )
            self._creating.pop((agency, owner), None)
        return unwrap(self._keys, record)

    async def _key_for_opening(
        self, kid: str, agency: str, owner: str, memo: dict[str, DataKey | None] | None = None
    ) -> DataKey | None:
        if memo is not None and kid in memo:
            entry = memo[kid]
        else:
            record = await self._store.get_key(kid)
            if record is None:
                raise UnknownKey(f"data key {kid} is not recorded")
            shredded = record.shredded_at is not None or record.wrapped is None
            entry = None if shredded else unwrap(self._keys, record)
            if memo is not None:
                memo[kid] = entry
        if entry is None:
            return None
        if entry.agency != agency or entry.owner != owner:
            raise DecryptionFailed(f"data key {kid} does not belong to this agency and owner")
        return entry

    # ---- public API

    async def seal_text(
        self,
        plaintext: str,
        *,
        owner: str,
        agency: str,
        stream_id: str,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        field: str,
    ) -> Sealed:
        key = await self._key_for_sealing(agency, owner)
        ad = field_associated_data(
            agency=agency,
            stream_id=stream_id,
            event_id=event_id,
            event_type=event_type,
            schema_version=schema_version,
            field=field,
        )
        raw = plaintext.encode("utf-8")
        mac = hmac.new(key.nonce_key, len(ad).to_bytes(4, "big") + ad + raw, hashlib.sha256)
        nonce = mac.digest()[:_NONCE_BYTES]
        ct = key.aead.encrypt(nonce, raw, ad)
        return Sealed(kid=key.kid, iv=_b64e(nonce), ct=_b64e(ct))

    async def seal_event_data(
        self,
        event: DomainEvent,
        data: dict[str, Any],
        *,
        agency: str,
        stream_id: str,
        event_id: UUID,
        actor_id: str,
    ) -> dict[str, Any]:
        """A copy of `data` (the event's JSON data) with each non-None personal field sealed."""
        fields = type(event).personal_fields
        if not fields:
            return dict(data)
        out = dict(data)
        owner: str | None = None
        for name in fields:
            if name not in data:
                raise ValueError(f"{event.event_type}: personal field {name!r} is not in its data")
            value = data[name]
            if value is None:
                continue
            if not isinstance(value, str):
                raise ValueError(
                    f"{event.event_type}.{name}: only plain text is sealed (already sealed "
                    "values cannot be moved into another event)"
                )
            if owner is None:
                owner = self._owner_of(event, data, actor_id)
            out[name] = (
                await self.seal_text(
                    value,
                    owner=owner,
                    agency=agency,
                    stream_id=stream_id,
                    event_id=event_id,
                    event_type=event.event_type,
                    schema_version=event.schema_version,
                    field=name,
                )
            ).model_dump()
        return out

    @staticmethod
    def _owner_of(event: DomainEvent, data: Mapping[str, Any], actor_id: str) -> str:
        owner_field = type(event).personal_owner
        if owner_field is None:
            return actor_id
        owner = data.get(owner_field)
        if not isinstance(owner, str) or not owner:
            raise ValueError(
                f"{event.event_type}: personal data present but its owner field "
                f"{owner_field!r} is empty"
            )
        return owner

    async def open_field(
        self,
        sealed: Mapping[str, Any] | Sealed,
        *,
        owner: str,
        agency: str,
        stream_id: str,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        field: str,
        _memo: dict[str, DataKey | None] | None = None,
    ) -> str | None:
        """The plaintext, or None once the owner's key was shredded.

        Raises DecryptionFailed when the ciphertext does not verify in this context (moved to
        another event, field, stream or agency; tampered), UnknownKey for an unrecorded kid."""
        try:
            value = sealed if isinstance(sealed, Sealed) else Sealed.model_validate(sealed)
        except ValueError as exc:
            raise DecryptionFailed(f"{field}: not a sealed value") from exc
        key = await self._key_for_opening(value.kid, agency, owner, _memo)
        if key is None:
            return None
        ad = field_associated_data(
            agency=agency,
            stream_id=stream_id,
            event_id=event_id,
            event_type=event_type,
            schema_version=schema_version,
            field=field,
        )
        nonce = _b64d(value.iv)
        if len(nonce) != _NONCE_BYTES:
            raise DecryptionFailed(f"{field}: bad nonce length")
        try:
            raw = key.aead.decrypt(nonce, _b64d(value.ct), ad)
        except InvalidTag:
            raise DecryptionFailed(
                f"{field} of {event_type} {event_id} does not decrypt in this context"
            ) from None
        return raw.decode("utf-8")

    async def open_event_data(
        self,
        data: Mapping[str, Any],
        *,
        event_type: str,
        schema_version: int,
        agency: str,
        stream_id: str,
        event_id: UUID,
        actor_id: str,
        personal_owner: str | None = None,
    ) -> dict[str, Any]:
        """A copy of stored `data` with every sealed top-level field opened (None if shredded).

        Call it with the *stored* schema version, before upcasting: the associated data names
        the version and field under which the text was sealed. `personal_owner` is the name of
        the owner field (the event model's `personal_owner`); None means the actor owns it."""
        out = dict(data)
        owner: str | None = None
        memo: dict[str, DataKey | None] = {}
        for name, value in data.items():
            if not is_sealed(value):
                continue
            if owner is None:
                if personal_owner is None:
                    owner = actor_id
                else:
                    candidate = data.get(personal_owner)
                    if not isinstance(candidate, str):
                        raise DecryptionFailed(f"{event_type}: owner field {personal_owner} empty")
                    owner = candidate
            out[name] = await self.open_field(
                value,
                owner=owner,
                agency=agency,
                stream_id=stream_id,
                event_id=event_id,
                event_type=event_type,
                schema_version=schema_version,
                field=name,
                _memo=memo,
            )
        return out

    async def open_recorded(
        self, event: RecordedEvent, personal_owner: str | None = None
    ) -> dict[str, Any]:
        """`open_event_data` for a stored event, named by its own envelope (type, stored
        version, agency, stream, id, actor)."""
        return await self.open_event_data(
            event.data,
            event_type=event.event_type,
            schema_version=event.schema_version,
            agency=event.metadata.agency,
            stream_id=event.stream_id,
            event_id=event.event_id,
            actor_id=event.metadata.actor_id,
            personal_owner=personal_owner,
        )

    async def shred(
        self,
        person_id: str,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Crypto-shredding: destroy the wrapped data keys of this person (in `agency`, when
        given; made at or before `before`, when given) and record when. Returns the key ids
        destroyed. Every process opens nothing under them from now on; later seals for the
        person use a fresh key."""
        return await self._store.shred(person_id, self._clock(), agency=agency, before=before)
