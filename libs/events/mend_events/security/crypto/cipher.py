"""The primitives of field encryption: associated data, encodings, key derivation, errors."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
