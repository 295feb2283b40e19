"""Data keys wrapped by their agency's key-encryption key: a new one, and one unwrapped."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mend_events.security.crypto.agency_keys import AgencyKeys
from mend_events.security.crypto.cipher import (
    _NONCE_BYTES,
    DecryptionFailed,
    _hkdf,
    _wrap_associated_data,
)
from mend_events.security.crypto.key_store import DataKeyRecord


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped data key, for the call that uses it only."""

    kid: str
    agency: str
    owner: str
    aead: AESGCM
    nonce_key: bytes


def unwrap(keys: AgencyKeys, record: DataKeyRecord) -> DataKey:
    """The data key of `record`, unwrapped by its agency's current key-encryption key."""
    assert record.wrapped is not None
    if record.kek_id != keys.kek_id(record.agency):
        raise DecryptionFailed(
            f"data key {record.kid} is wrapped under key-encryption key {record.kek_id}, "
            f"not the current one of agency {record.agency!r} (rotation not applied?)"
        )
    wrapped = record.wrapped
    try:
        raw = AESGCM(keys.kek(record.agency)).decrypt(
            wrapped[:_NONCE_BYTES],
            wrapped[_NONCE_BYTES:],
            _wrap_associated_data(record.agency, record.owner, record.kid),
        )
    except InvalidTag:
        raise DecryptionFailed(f"data key {record.kid} does not unwrap") from None
    return DataKey(
        kid=record.kid,
        agency=record.agency,
        owner=record.owner,
        aead=AESGCM(raw),
        nonce_key=_hkdf(raw, salt=b"mend/field-nonce/v1", info=record.kid.encode("utf-8")),
    )


def new_record(keys: AgencyKeys, agency: str, owner: str, at: datetime) -> DataKeyRecord:
    """A fresh random data key for `owner` in `agency`, wrapped by the agency's KEK."""
    kid = f"dk-{secrets.token_hex(16)}"
    raw = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    wrapped = nonce + AESGCM(keys.kek(agency)).encrypt(
        nonce, raw, _wrap_associated_data(agency, owner, kid)
    )
    return DataKeyRecord(
        kid=kid,
        agency=agency,
        owner=owner,
        kek_id=keys.kek_id(agency),
        wrapped=wrapped,
        created_at=at,
    )
