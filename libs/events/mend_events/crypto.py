"""Field encryption and crypto-shredding for personal data in events (R7, R8).

- Each personal field of an event (`DomainEvent.personal_fields`) is stored as AES-256-GCM
  ciphertext (`contracts.Sealed`) under a random 256-bit *data key* of the person it is about
  (`personal_owner`, else the acting person). A case id may own a key too (joint notes).
- A data key is identified by its key id (`kid`) and stored only wrapped (AES-256-GCM) by its
  agency's key-encryption key (KEK), in its own table `data_keys`, apart from the events.
- The associated data binds a ciphertext to agency, stream id, event id, event type, schema
  version and field name, so a ciphertext copied into another event, field or agency fails.
- Erasure (`FieldSealer.shred`) destroys the person's wrapped keys and records when: every field
  sealed under them then opens as `None`, while the stored bytes (and the hash chain) are unchanged.
  No process keeps an unwrapped key beyond the call that used it, so a shred by any process is
  seen by every other one at its next read (see `FieldSealer`). The erasure request that leads
  here is `mend_events.erasure`.

Nonces are synthetic: HMAC of (associated data, plaintext) under a key derived from the data key.
Sealing the same text for the same event and field gives the same bytes (a retried append is
byte-identical, so idempotency and hash chains are unaffected); different inputs get unrelated
96-bit nonces, the same collision bound as random nonces.

Agency KEKs come from `MEND_AGENCY_KEYS` (JSON {agency: base64 of 32 bytes}). Without it they are
derived per agency with HKDF from `MEND_MASTER_KEY` (base64, >= 32 bytes) whose default is a fixed
DEVELOPMENT-ONLY value; `MEND_ENV=production` refuses that default.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import importlib.resources
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mend_events.contracts import DomainEvent, Sealed
from mend_events.settings import json_object

__all__ = [
    "DATA_KEYS_DDL",
    "DEV_MASTER_KEY",
    "AgencyKeys",
    "CryptoError",
    "DataKeyRecord",
    "DecryptionFailed",
    "FieldSealer",
    "InMemoryKeyStore",
    "KeyStore",
    "PgKeyStore",
    "UnknownKey",
    "data_keys_ddl",
    "field_associated_data",
    "is_sealed",
]

# DEVELOPMENT ONLY. Anyone can read this value: never use it for real data. Production sets
# MEND_AGENCY_KEYS (or at least MEND_MASTER_KEY) and MEND_ENV=production, which refuses it.
DEV_MASTER_KEY = b"mend-DEV-ONLY-master-key-NOT-SAFE"

_KEY_BYTES = 32
_NONCE_BYTES = 12
_FIELD_AD_LABEL = "mend/field/v1"
_WRAP_AD_LABEL = "mend/data-key/v1"
_SEALED_KEYS = frozenset({"alg", "kid", "iv", "ct"})


class CryptoError(Exception):
    """A key or ciphertext problem on the server side (never the client's fault)."""


class DecryptionFailed(CryptoError):
    """The ciphertext or wrapped key does not verify: wrong context, wrong key, or tampering."""


class UnknownKey(CryptoError):
    """A key id that was never recorded (as opposed to one that was shredded)."""


# --------------------------------------------------------------------------------------------
# Encoding helpers


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailed("sealed value is not valid base64url") from exc


def _canonical(*parts: str) -> bytes:
    """Unambiguous bytes for a tuple of strings: each part length-prefixed (4 bytes, big end)."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big")
        out += raw
    return bytes(out)


def field_associated_data(
    *,
    agency: str,
    stream_id: str,
    event_id: UUID | str,
    event_type: str,
    schema_version: int,
    field: str,
) -> bytes:
    """The associated data binding a sealed field to its exact place in the history."""
    return _canonical(
        _FIELD_AD_LABEL,
        agency,
        stream_id,
        str(UUID(str(event_id))),
        event_type,
        str(int(schema_version)),
        field,
    )


def _wrap_associated_data(agency: str, owner: str, kid: str) -> bytes:
    return _canonical(_WRAP_AD_LABEL, agency, owner, kid)


def is_sealed(value: Any) -> bool:
    """True for a dict shaped like `Sealed` (what a personal field looks like once stored)."""
    return isinstance(value, dict) and value.keys() == _SEALED_KEYS


def _hkdf(key: bytes, *, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=salt, info=info).derive(key)


# --------------------------------------------------------------------------------------------
# Agency key-encryption keys


class AgencyKeys:
    """Per-agency key-encryption keys (KEKs): explicit ones, else HKDF from a master key."""

    def __init__(
        self,
        keys: Mapping[str, bytes] | None = None,
        *,
        master_key: bytes | None = None,
    ) -> None:
        for agency, kek in (keys or {}).items():
            if len(kek) != _KEY_BYTES:
                raise CryptoError(f"key-encryption key of agency {agency!r} is not 32 bytes")
        if master_key is not None and len(master_key) < _KEY_BYTES:
            raise CryptoError("master key must hold at least 32 bytes")
        self._keys = dict(keys or {})
        self._master = master_key
        self._derived: dict[str, bytes] = {}

    @property
    def uses_dev_master_key(self) -> bool:
        return self._master == DEV_MASTER_KEY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AgencyKeys:
        env = os.environ if environ is None else environ
        keys: dict[str, bytes] = {}
        raw_keys = env.get("MEND_AGENCY_KEYS")
        if raw_keys:
            parsed = json_object(
                raw_keys, "MEND_AGENCY_KEYS", "{agency: base64 key}", error=CryptoError
            )
            for agency, b64 in parsed.items():
                try:
                    keys[agency] = base64.b64decode(b64, validate=True)
                except (binascii.Error, TypeError, ValueError) as exc:
                    raise CryptoError(f"MEND_AGENCY_KEYS[{agency!r}] is not base64") from exc
        raw_master = env.get("MEND_MASTER_KEY")
        master: bytes | None
        if raw_master:
            try:
                master = base64.b64decode(raw_master, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CryptoError("MEND_MASTER_KEY is not base64") from exc
        elif raw_keys:
            master = None  # explicit keys only: an unknown agency is an error, never derived
        else:
            master = DEV_MASTER_KEY
        if master == DEV_MASTER_KEY and env.get("MEND_ENV", "").lower() in {"prod", "production"}:
            raise CryptoError(
                "MEND_ENV=production without MEND_AGENCY_KEYS or MEND_MASTER_KEY: refusing the "
                "development master key"
            )
        return cls(keys, master_key=master)

    def kek(self, agency: str) -> bytes:
        explicit = self._keys.get(agency)
        if explicit is not None:
            return explicit
        derived = self._derived.get(agency)
        if derived is not None:
            return derived
        if self._master is None:
            raise CryptoError(f"no key-encryption key for agency {agency!r}")
        derived = _hkdf(self._master, salt=b"mend/agency-kek/v1", info=agency.encode("utf-8"))
        self._derived[agency] = derived
        return derived

    def kek_id(self, agency: str) -> str:
        """A fingerprint naming the KEK (stored with each wrapped key; shows a rotation)."""
        digest = hashlib.sha256(b"mend/kek-id/v1\x00" + self.kek(agency)).hexdigest()
        return f"kek-{digest[:16]}"


# --------------------------------------------------------------------------------------------
# Key store


@dataclass(frozen=True, slots=True)
class DataKeyRecord:
    """One row of `data_keys`. `wrapped` is None once shredded (and `shredded_at` set)."""

    kid: str
    agency: str
    owner: str
    kek_id: str
    wrapped: bytes | None
    created_at: datetime
    shredded_at: datetime | None = None


class KeyStore(Protocol):
    async def get_key(self, kid: str) -> DataKeyRecord | None:
        """The record of this key id, shredded or not; None if it never existed."""
        ...

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        """The owner's current (not shredded) key in this agency, if any."""
        ...

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        """Insert unless the owner already has an active key in this agency (a concurrent
        creator won); returns the active record either way."""
        ...

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        """Destroy the wrapped keys of this owner (in `agency` only, when given; only those
        created at or before `before`, when given); record `at`. Returns the kids destroyed now
        (keys shredded earlier are left as they are)."""
        ...


class InMemoryKeyStore:
    """A `KeyStore` in a dict, for tests and local tools."""

    def __init__(self) -> None:
        self.rows: dict[str, DataKeyRecord] = {}

    async def get_key(self, kid: str) -> DataKeyRecord | None:
        return self.rows.get(kid)

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        for row in self.rows.values():
            if row.agency == agency and row.owner == owner and row.shredded_at is None:
                return row
        return None

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        existing = await self.active_key(record.agency, record.owner)
        if existing is not None:
            return existing
        if record.kid in self.rows:
            raise CryptoError(f"key id {record.kid} already exists")
        self.rows[record.kid] = record
        return record

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        kids = [
            kid
            for kid, row in self.rows.items()
            if row.owner == owner
            and row.shredded_at is None
            and (agency is None or row.agency == agency)
            and (before is None or row.created_at <= before)
        ]
        for kid in kids:
            self.rows[kid] = replace(self.rows[kid], wrapped=None, shredded_at=at)
        return kids


_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _schema(name: str) -> str:
    if not _SCHEMA_RE.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    return name


# The DDL of the key table, per schema: the migration is the one source of it.
DATA_KEYS_DDL = (
    importlib.resources.files("mend_events") / "migrations" / "0003_data_keys.sql"
).read_text()


def data_keys_ddl(schema: str) -> str:
    return DATA_KEYS_DDL.format(schema=_schema(schema))


class PgKeyStore:
    """`KeyStore` on asyncpg. `db` is a pool or a connection (anything with fetchrow/fetch)."""

    def __init__(self, db: Any, schema: str = "public") -> None:
        self._db = db
        s = _schema(schema)
        cols = "kid, agency, owner, kek_id, wrapped_key, created_at, shredded_at"
        self._sql_get = f"SELECT {cols} FROM {s}.data_keys WHERE kid = $1"
        self._sql_active = (
            f"SELECT {cols} FROM {s}.data_keys "
            "WHERE agency = $1 AND owner = $2 AND shredded_at IS NULL"
        )
        self._sql_insert = (
            f"INSERT INTO {s}.data_keys (kid, agency, owner, kek_id, wrapped_key, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (agency, owner) WHERE shredded_at IS NULL DO NOTHING "
            f"RETURNING {cols}"
        )
        self._sql_shred = (
            f"UPDATE {s}.data_keys SET wrapped_key = NULL, shredded_at = $2 "
            "WHERE owner = $1 AND shredded_at IS NULL "
            "AND ($3::text IS NULL OR agency = $3) "
            "AND ($4::timestamptz IS NULL OR created_at <= $4) RETURNING kid"
        )

    @staticmethod
    def _record(row: Any) -> DataKeyRecord | None:
        if row is None:
            return None
        wrapped = row["wrapped_key"]
        return DataKeyRecord(
            kid=row["kid"],
            agency=row["agency"],
            owner=row["owner"],
            kek_id=row["kek_id"],
            wrapped=bytes(wrapped) if wrapped is not None else None,
            created_at=row["created_at"],
            shredded_at=row["shredded_at"],
        )

    async def get_key(self, kid: str) -> DataKeyRecord | None:
        return self._record(await self._db.fetchrow(self._sql_get, kid))

    async def active_key(self, agency: str, owner: str) -> DataKeyRecord | None:
        return self._record(await self._db.fetchrow(self._sql_active, agency, owner))

    async def _insert(self, record: DataKeyRecord) -> DataKeyRecord | None:
        """`record` as stored, or None when the owner already has an active key."""
        row = await self._db.fetchrow(
            self._sql_insert,
            record.kid,
            record.agency,
            record.owner,
            record.kek_id,
            record.wrapped,
            record.created_at,
        )
        return self._record(row)

    async def create_key(self, record: DataKeyRecord) -> DataKeyRecord:
        created = await self._insert(record)
        if created is not None:
            return created
        winner = await self.active_key(record.agency, record.owner)
        if winner is None:  # the winner was shredded in between: very unlikely; try once more
            winner = await self._insert(record)
            if winner is None:
                raise CryptoError(f"could not create a data key for {record.owner}")
        return winner

    async def shred(
        self,
        owner: str,
        at: datetime,
        *,
        agency: str | None = None,
        before: datetime | None = None,
    ) -> list[str]:
        rows = await self._db.fetch(self._sql_shred, owner, at, agency, before)
        return [r["kid"] for r in rows]


# --------------------------------------------------------------------------------------------
# The sealer


@dataclass(frozen=True, slots=True)
class _DataKey:
    kid: str
    agency: str
    owner: str
    aead: AESGCM
    nonce_key: bytes


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

    def _unwrap(self, record: DataKeyRecord) -> _DataKey:
        assert record.wrapped is not None
        if record.kek_id != self._keys.kek_id(record.agency):
            raise DecryptionFailed(
                f"data key {record.kid} is wrapped under key-encryption key {record.kek_id}, "
                f"not the current one of agency {record.agency!r} (rotation not applied?)"
            )
        wrapped = record.wrapped
        try:
            raw = AESGCM(self._keys.kek(record.agency)).decrypt(
                wrapped[:_NONCE_BYTES],
                wrapped[_NONCE_BYTES:],
                _wrap_associated_data(record.agency, record.owner, record.kid),
            )
        except InvalidTag:
            raise DecryptionFailed(f"data key {record.kid} does not unwrap") from None
        return _DataKey(
            kid=record.kid,
            agency=record.agency,
            owner=record.owner,
            aead=AESGCM(raw),
            nonce_key=_hkdf(raw, salt=b"mend/field-nonce/v1", info=record.kid.encode("utf-8")),
        )

    async def _key_for_sealing(self, agency: str, owner: str) -> _DataKey:
        record = await self._store.active_key(agency, owner)
        if record is None:
            # Concurrent first seals in this process make one key (the store settles races
            # between processes: `create_key` returns the winner).
            lock = self._creating.setdefault((agency, owner), asyncio.Lock())
            async with lock:
                record = await self._store.active_key(agency, owner)
                if record is None:
                    record = await self._store.create_key(self._new_record(agency, owner))
            self._creating.pop((agency, owner), None)
        return self._unwrap(record)

    def _new_record(self, agency: str, owner: str) -> DataKeyRecord:
        kid = f"dk-{secrets.token_hex(16)}"
        raw = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        wrapped = nonce + AESGCM(self._keys.kek(agency)).encrypt(
            nonce, raw, _wrap_associated_data(agency, owner, kid)
        )
        return DataKeyRecord(
            kid=kid,
            agency=agency,
            owner=owner,
            kek_id=self._keys.kek_id(agency),
            wrapped=wrapped,
            created_at=self._clock(),
        )

    async def _key_for_opening(
        self, kid: str, agency: str, owner: str, memo: dict[str, _DataKey | None] | None = None
    ) -> _DataKey | None:
        if memo is not None and kid in memo:
            entry = memo[kid]
        else:
            record = await self._store.get_key(kid)
            if record is None:
                raise UnknownKey(f"data key {kid} is not recorded")
            shredded = record.shredded_at is not None or record.wrapped is None
            entry = None if shredded else self._unwrap(record)
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
        _memo: dict[str, _DataKey | None] | None = None,
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
        memo: dict[str, _DataKey | None] = {}
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
